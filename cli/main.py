"""The ``iclr`` command line. Only Typer is imported at start-up: ``iclr --help`` stays fast, and
each command imports what it needs (Hydra, torch, pandas) when it runs."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import typer

from iclr.cli.errors import UserError

app = typer.Typer(
    name="iclr",
    help="Reproduce, sweep and compare the ten Amazon papers of ICLR 2022.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
data_app = typer.Typer(
    help="Where datasets live; fetch them from the mirror or source; verify.", no_args_is_help=True
)
app.add_typer(data_app, name="data")

FORMAT_HELP = "rich (default), md, csv or latex"
# Hydra flags that take the next token as their value.
_VALUE_FLAGS = {
    "-c",
    "--cfg",
    "-p",
    "--package",
    "-cp",
    "--config-path",
    "-cn",
    "--config-name",
    "-cd",
    "--config-dir",
    "--experimental-rerun",
    "-i",
    "--info",
}
_NO_RUN_FLAGS = {
    "-c",
    "--cfg",
    "-i",
    "--info",
    "--hydra-help",
    "--version",
    "-sc",
    "--shell-completion",
}


def fail(message: str, code: int = 2) -> None:
    """Print a one-line error to stderr and exit with ``code``."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def user_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn ``UserError`` into a one-line message and exit code 2 (no traceback)."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except UserError as exc:
            fail(str(exc), exc.exit_code)
        except KeyboardInterrupt:
            fail("interrupted: no record was written for the job in progress", 130)

    return wrapper


def _check_format(fmt: str) -> str:
    from iclr.cli.render import FORMATS

    if fmt not in FORMATS:
        raise UserError(f"unknown format '{fmt}'; choose one of: {', '.join(FORMATS)}")
    return fmt


def _split_args(args: list[str]) -> tuple[list[str], list[str]]:
    overrides, flags, i = [], [], 0
    while i < len(args):
        arg = args[i]
        if arg.startswith("-"):
            flags.append(arg)
            if arg in _VALUE_FLAGS and i + 1 < len(args) and "=" not in args[i + 1]:
                flags.append(args[i + 1])
                i += 1
        else:
            overrides.append(arg)
        i += 1
    return overrides, flags


def _job_folder(overrides: list[str], multirun: bool) -> Path:
    from iclr.cli import locations

    base = locations.output_dir()
    for override in overrides:
        if override.startswith("paths.output_dir="):
            base = Path(override.split("=", 1)[1]).resolve()
    kind = "sweeps" if multirun else "runs"
    return base / kind / datetime.now().strftime("%Y-%m-%d/%H-%M-%S-%f")


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
@user_errors
def run(
    ctx: typer.Context,
    multirun: bool = typer.Option(
        False, "-m", "--multirun", help="Sweep: one job per combination."
    ),
    force: bool = typer.Option(False, "--force", help="Rerun jobs that already have a record."),
    rerun_stale: bool = typer.Option(
        False, "--rerun-stale", help="Rerun jobs whose record was made by other code."
    ),
) -> None:
    """Train and evaluate: iclr run [-m] method=NAME dataset=NAME [key=value ...] [hydra flags].

    Overrides are Hydra's: sweeps (method=gcn,mlp  seed=range(0,5)) need -m; --cfg job prints the
    composed config; hydra/launcher=joblib runs a sweep in parallel.
    """
    import shutil

    from iclr.cli.hydra_app import launch
    from iclr.cli.overrides import expand, expand_globs, for_sweep, preflight, validate
    from iclr.cli.summary import print_single, print_sweep, read_outcomes

    overrides, flags = _split_args(list(ctx.args))
    no_run = any(f in _NO_RUN_FLAGS for f in flags)
    if flags in (["--info"], ["-i"]) and not any(
        o.startswith(("method=", "dataset=")) for o in overrides
    ):
        # Hydra's full --info composes a job config, which needs a method and a dataset
        launch(["--info", "plugins", *overrides])
        typer.echo("(add method=NAME dataset=NAME for the search path, defaults and config)")
        return
    if not (no_run and not any(o.startswith(("method=", "dataset=")) for o in overrides)):
        # bare `iclr run --info` / `--hydra-help` need no job; everything else is checked first
        overrides = expand_globs(overrides)
        plan = expand(overrides, multirun)
        validate(plan)
        preflight(overrides, multirun)
    if force:
        overrides.append("runner.force=true")
    if rerun_stale:
        overrides.append("runner.rerun_stale=true")
    folder = None
    if not no_run:
        key = "hydra.sweep.dir" if multirun else "hydra.run.dir"
        given = [o.split("=", 1)[1] for o in overrides if o.startswith(f"{key}=")]
        folder = Path(given[0]).resolve() if given else _job_folder(overrides, multirun)
        if not given:
            overrides.append(f"{key}='{folder}'")
    if multirun:
        overrides = for_sweep(overrides)
    launch([*(["--multirun"] if multirun else []), *flags, *overrides])
    if folder is None:
        return
    outcomes = read_outcomes(folder, multirun)
    if multirun:
        counts = print_sweep(outcomes, plan.size)
        failed = counts["failed"]
    else:
        if not outcomes:
            fail(f"the job wrote no outcome in {folder}; see the log there", 1)
        outcome = outcomes[0][1]
        if outcome.state == "cached":
            # nothing ran: point at the run that made the record, leave no empty folder behind
            shutil.rmtree(folder, ignore_errors=True)
        print_single(outcome)
        failed = outcome.state == "failed"
    if failed:
        raise typer.Exit(1)


@app.command("list")
@user_errors
def list_(
    what: str = typer.Argument("all", help="methods, datasets, tables or all"),
    names: bool = typer.Option(
        False,
        "--names",
        help="Plain lines for scripts: 'name smoke_dataset' per method, else names.",
    ),
) -> None:
    """List methods, datasets and paper tables."""
    from iclr.cli.render import Grid, emit

    choices = ("methods", "datasets", "tables", "all")
    if what not in choices:
        raise UserError(f"unknown list '{what}'; choose one of: {', '.join(choices)}")
    if names:
        typer.echo("\n".join(_names(what)))
        return
    if what in ("methods", "all"):
        from iclr.cli.overrides import method_profiles
        from iclr.methods.registry import methods

        emit(
            Grid(
                ["method", "paper", "what it is", "datasets", "profiles"],
                [
                    [
                        n,
                        e.paper,
                        e.summary,
                        ", ".join(e.tasks),
                        ", ".join(dict.fromkeys(["paper", *method_profiles(n)])),
                    ]
                    for n, e in sorted(methods().items())
                ],
                title="methods",
            ),
            "rich",
        )
    if what in ("datasets", "all"):
        from iclr.data.registry import sources

        emit(
            Grid(
                ["dataset", "what it is", "licence"],
                [[n, s.summary, s.licence] for n, s in sorted(sources().items())],
                title="datasets",
            ),
            "rich",
        )
    if what in ("tables", "all"):
        from iclr.cli.tables import load_spec, table_names

        emit(
            Grid(
                ["table", "title", "paper values from"],
                [[n, (s := load_spec(n)).title, s.source] for n in table_names()],
                title="tables",
            ),
            "rich",
        )


def _names(what: str) -> list[str]:
    if what == "methods":
        from iclr.methods.registry import methods

        return [f"{n} {e.smoke_dataset}" for n, e in sorted(methods().items())]
    if what == "datasets":
        from iclr.data.registry import sources

        return sorted(sources())
    if what == "tables":
        from iclr.cli.tables import table_names

        return table_names()
    raise UserError("--names takes one list: methods, datasets or tables")


@app.command()
@user_errors
def results(
    path: Path = typer.Argument(None, help="Results store or a sub-folder (default: the store)."),
    method: list[str] = typer.Option(None, "--method", help="Only these methods (repeatable)."),
    dataset: list[str] = typer.Option(None, "--dataset", help="Only these datasets (repeatable)."),
    metric: str = typer.Option(None, "--metric", help="Metric to aggregate (default: main)."),
    fmt: str = typer.Option("rich", "--format", help=FORMAT_HELP),
) -> None:
    """Mean ± std (n) over seeds per (method, dataset, setting)."""
    from iclr.cli import locations
    from iclr.cli.aggregate import summarise
    from iclr.cli.records import code_version, iter_records
    from iclr.cli.render import Grid, emit
    from iclr.methods.registry import methods

    _check_format(fmt)
    root = path or locations.results_dir()
    if not root.exists():
        raise UserError(f"no results at {root}; run `iclr run ...` first or pass a results folder")
    found = [
        r
        for _, r in iter_records(root, warn=lambda m: typer.echo(f"warning: {m}", err=True))
        if (not method or r.method in method) and (not dataset or r.dataset in dataset)
    ]
    if metric and found and not any(metric in r.metrics for r in found):
        known = sorted({m for r in found for m in r.metrics})
        raise UserError(f"no record has metric '{metric}'; these have: {', '.join(known)}")
    current = {n: code_version(e.entrypoint) for n, e in methods().items()}
    rows = summarise(found, metric, current)
    if not rows:
        raise UserError(f"no records under {root} match the filters")
    if fmt == "csv":
        grid = Grid(
            [
                "method",
                "dataset",
                "setting",
                "cell_key",
                "metric",
                "mean",
                "std",
                "n",
                "failed",
                "stale",
            ],
            [
                [
                    r["method"],
                    r["dataset"],
                    r["setting"],
                    r["cell_key"],
                    r["metric"],
                    *(
                        ["", "", "0"]
                        if r["stat"] is None
                        else [f"{r['stat'].mean:.6g}", f"{r['stat'].std:.6g}", str(r["stat"].n)]
                    ),
                    str(r["failed"]),
                    str(r["stale"]),
                ]
                for r in rows
            ],
        )
    else:
        grid = Grid(
            [
                "method",
                "dataset",
                "setting",
                "metric",
                "mean ± std (n)",
                "seeds",
                "failed",
                "status",
            ],
            [
                [
                    r["method"],
                    r["dataset"],
                    r["setting"] or "(defaults)",
                    r["metric"],
                    r["stat"].format() if r["stat"] else "—",
                    ",".join(map(str, r["seeds"])),
                    str(r["failed"]),
                    f"stale code ({r['stale']})" if r["stale"] else "current",
                ]
                for r in rows
            ],
            title=f"results in {root}",
            right_align={4},
        )
    emit(grid, fmt)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
@user_errors
def table(
    ctx: typer.Context,
    name: str = typer.Argument(
        ..., help="PAPER/TABLE, e.g. baselines/planetoid (iclr list tables)"
    ),
    plan_only: bool = typer.Option(
        False, "--plan", help="List cells and their state; run nothing."
    ),
    no_run: bool = typer.Option(
        False, "--no-run", help="Render from the records there are; run nothing missing."
    ),
    seeds: str = typer.Option(None, "--seeds", help="Comma-separated seeds (default: the spec's)."),
    jobs: int = typer.Option(
        1, "--jobs", min=1, help="Parallel local jobs (Hydra's joblib launcher)."
    ),
    force: bool = typer.Option(False, "--force", help="Rerun cells that already have records."),
    rerun_stale: bool = typer.Option(
        False, "--rerun-stale", help="Rerun cells whose records were made by other code."
    ),
    extra: list[str] = typer.Option(
        None,
        "--set",
        help="Extra override for every cell, e.g. "
        "--set method.epochs=20 (repeatable; separate cells).",
    ),
    fmt: str = typer.Option("rich", "--format", help=FORMAT_HELP + "; md also writes results/"),
    results_dir: Path = typer.Option(
        Path("results"), "--results-dir", help="Where --format md writes <paper>/<table>.md."
    ),
    profile: str = typer.Option(
        None, "--profile", help="Run every cell with this profile instead of the spec's."
    ),
) -> None:
    """Reproduce a paper table: run missing cells, print ours | paper | Δ | status.

    Trailing overrides choose where jobs run without changing results, exactly as for a sweep:
    hardware=slurm (a Slurm cluster via submitit), hydra/launcher=submitit_local, hardware=gpu.
    """
    from iclr.cli import locations, tables
    from iclr.cli.job import git_state
    from iclr.cli.records import write_atomic
    from iclr.cli.render import emit, to_csv, to_markdown

    _check_format(fmt)
    launch_overrides = list(ctx.args)
    keys = [o.split("=", 1)[0].lstrip("+") for o in launch_overrides]
    bad = [
        o
        for o, key in zip(launch_overrides, keys, strict=True)
        if not any(key == k or key.startswith(f"{k}.") for k in _LAUNCH_KEYS)
    ]
    if bad:
        raise UserError(
            f"'{bad[0]}' would change results: give cell settings with --set; trailing"
            f" overrides only choose where jobs run ({', '.join(_LAUNCH_KEYS)})"
        )
    from iclr.cli.overrides import preflight

    preflight(launch_overrides, multirun=True)
    spec = tables.load_spec(name)
    if profile is not None:
        spec = tables.with_profile(spec, profile)
    if seeds is not None and not seeds.strip():
        raise UserError("--seeds is empty; give e.g. --seeds 0,1,2 or leave it out")
    try:
        chosen = [int(s) for s in seeds.split(",")] if seeds is not None else spec.seeds
    except ValueError:
        raise UserError(f"--seeds takes comma-separated integers, got '{seeds}'") from None
    if not chosen:
        raise UserError("--seeds is empty; give e.g. --seeds 0,1,2 or leave it out")
    cells = tables.plan(spec, chosen, tuple(extra or ()))
    _report_unavailable(cells)
    if plan_only:
        emit(tables.plan_grid(cells, spec, len(chosen)), fmt)
        return
    if force:
        for cell in cells:
            cell.missing_seeds = sorted(set(cell.missing_seeds) | set(cell.done_seeds))
    todo = [] if no_run else tables.jobs_to_run(cells, rerun_stale)
    if force or rerun_stale:
        launch_overrides.append("runner.force=true")
    if jobs > 1:
        launch_overrides += ["hydra/launcher=joblib", f"hydra.launcher.n_jobs={jobs}"]
    outcomes = tables.run_jobs(spec, todo, launch_overrides) if todo else []
    cells = tables.plan(spec, chosen, tuple(extra or ())) if todo else cells
    tables.collect(cells, spec, chosen)
    emit(
        tables.csv_grid(cells, spec, len(chosen))
        if fmt == "csv"
        else tables.result_grid(cells, spec, len(chosen)),
        fmt,
    )
    out = locations.output_dir() / "tables" / name
    write_atomic(out.with_suffix(".md"), to_markdown(tables.result_grid(cells, spec, len(chosen))))
    write_atomic(out.with_suffix(".csv"), to_csv(tables.csv_grid(cells, spec, len(chosen))))
    saved = f"{out}.md/.csv"
    if fmt == "md":
        git = git_state()
        stamp = (
            f"on {datetime.now().strftime('%Y-%m-%d')} at git {(git['git_sha'] or 'unknown')[:10]}"
            + (" (with uncommitted changes)" if git["git_dirty"] else "")
            + f", seeds {','.join(map(str, chosen))}"
            + (f", with --set {' '.join(extra)}" if extra else "")
        )
        wide = results_dir / f"{name}.md"
        write_atomic(wide, to_markdown(tables.wide_grid(cells, spec, len(chosen), stamp)))
        saved += f" and {wide}"
    failed = [o for o in outcomes if o.state == "failed"]
    typer.echo(f"{len(outcomes)} jobs run ({len(failed)} failed); table saved to {saved}", err=True)
    if len(outcomes) < len(todo):
        typer.echo(f"{len(todo) - len(outcomes)} jobs left no outcome; see the sweep log", err=True)
    for outcome in failed:
        r = outcome.record
        typer.echo(f"failed: {r.method}/{r.dataset} seed {r.seed}: {r.error}", err=True)
    if failed or len(outcomes) < len(todo):
        raise typer.Exit(1)


def _report_unavailable(cells: list) -> None:
    """Once per dataset: why its cells will not run and how to get the data."""
    from iclr.cli import locations
    from iclr.cli.tables import UNAVAILABLE
    from iclr.data.registry import get_source
    from iclr.data.store import how_to_get

    names = sorted(
        {c.dataset for c in cells if c.dataset and not c.runnable and c.reason == UNAVAILABLE}
    )
    for name in names:
        source = get_source(name)
        target = locations.data_dir() / source.folder
        typer.echo(f"not available offline: {how_to_get(source, target)}", err=True)


# Overrides after a table name that choose where jobs run; none of them enters a cell key.
_LAUNCH_KEYS = ("hardware", "hydra/launcher", "hydra.launcher", "hydra.sweep.dir")


@data_app.command("list")
@user_errors
def data_list() -> None:
    """Each dataset, where it is now (data root, mirror, download) and its folder."""
    from iclr.cli import locations
    from iclr.cli.render import Grid, emit
    from iclr.data.registry import sources
    from iclr.data.store import availability

    root, mirror = locations.data_dir(), locations.mirror_dir()
    emit(
        Grid(
            ["dataset", "available from", "folder"],
            [
                [n, availability(s, root, mirror), str(root / s.folder)]
                for n, s in sorted(sources().items())
            ],
            title=f"data root {root}; mirror {mirror or '(ICLR_DATA_MIRROR unset)'}",
        ),
        "rich",
    )


@data_app.command("fetch")
@user_errors
def data_fetch(name: str = typer.Argument(..., help="Dataset name (iclr data list).")) -> None:
    """Copy a dataset from the mirror, or download it from its official source; check it."""
    from iclr.cli import locations
    from iclr.data.registry import get_source
    from iclr.data.store import repair

    source = get_source(name)
    repaired = repair(source, locations.data_dir(), locations.mirror_dir())
    for path in repaired:
        typer.echo(f"{name}: repaired {path}")
    typer.echo(f"{name}: ready in {locations.data_dir() / source.folder}")


@data_app.command("verify")
@user_errors
def data_verify(name: str = typer.Argument(..., help="Dataset name (iclr data list).")) -> None:
    """Recompute the checksums of a dataset's files in the data root."""
    from iclr.cli import locations
    from iclr.cli.render import Grid, emit
    from iclr.data.registry import get_source
    from iclr.data.store import check_files, check_generated

    source = get_source(name)
    folder = locations.data_dir() / source.folder
    states = check_files(source, folder, use_stamp=False) + check_generated(source, folder)
    emit(
        Grid(
            ["file", "state", "detail"],
            [[s.path, s.state, s.detail] for s in states],
            title=f"{name} in {folder}",
        ),
        "rich",
    )
    bad = [s for s in states if s.state == "corrupt" or (s.state == "missing" and not s.detail)]
    if bad:
        fail(f"{len(bad)} file(s) missing or corrupt; run `iclr data fetch {name}`", 1)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    sys.exit(main())
