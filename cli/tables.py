"""Paper tables: a YAML spec (rows × columns of overrides, paper values) drives planning,
running the missing (cell, seed) jobs, and rendering ours | paper | Δ | status per cell."""

from __future__ import annotations

import dataclasses
import importlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from iclr.cli import records
from iclr.cli.aggregate import Stat
from iclr.cli.errors import UserError
from iclr.cli.locations import conf_dir
from iclr.cli.records import Outcome
from iclr.cli.render import Grid

UNAVAILABLE = "not run (data unavailable offline)"


@dataclass(frozen=True)
class Axis:
    """One row or column: a label, the overrides it adds and, optionally, its own metric.

    A derived row has no runs of its own: ``derived = (function, input row names)`` computes it
    seed by seed from other rows of the same column (e.g. FCR from GNN, MLP and LP rows). A row
    or column that cannot run here says why in ``unavailable`` (e.g. "not run (one offline
    model)"); its cells are planned and shown, never launched.
    """

    name: str
    overrides: tuple[str, ...] = ()
    metric: str | None = None
    derived: tuple[str, tuple[str, ...]] | None = None
    unavailable: str | None = None


@dataclass
class TableSpec:
    """A paper table: which runs make each cell and what the paper reports."""

    name: str
    title: str
    source: str
    metric: str
    rows: list[Axis]
    cols: list[Axis]
    seeds: list[int]
    tolerance: float
    scale: float = 1.0
    digits: int = 2
    overrides: tuple[str, ...] = ()
    profile: str = "paper"  # the profile every cell runs with; its label comes from its config
    note: str = ""  # protocol facts that are not settings (e.g. which dataset stands in)
    paper: dict[str, dict[str, float | None]] = field(default_factory=dict)
    notes: dict[str, dict[str, str]] = field(default_factory=dict)

    def paper_value(self, row: str, col: str) -> float | None:
        """The paper's number for a cell, or None when the paper has none."""
        return self.paper.get(row, {}).get(col)


def table_names() -> list[str]:
    """All specs under ``conf/tables`` as ``paper/table``."""
    root = conf_dir() / "tables"
    return sorted(str(p.relative_to(root).with_suffix("")) for p in root.rglob("*.yaml"))


def load_spec(name: str) -> TableSpec:
    """Read and validate ``conf/tables/<name>.yaml``."""
    path = conf_dir() / "tables" / f"{name}.yaml"
    if not path.is_file():
        raise UserError(f"unknown table '{name}'; choose one of: {', '.join(table_names())}")
    return parse_spec(name, path)


def with_profile(spec: TableSpec, profile: str) -> TableSpec:
    """The same table run with another profile (``iclr table ... --profile paper``)."""
    from iclr.cli.overrides import group_choices

    if profile not in group_choices("profile"):
        raise UserError(
            f"unknown profile '{profile}'; choose one of: {', '.join(group_choices('profile'))}"
        )
    return dataclasses.replace(spec, profile=profile)


def parse_spec(name: str, path: Path) -> TableSpec:
    """Read and validate a table spec file."""
    raw = yaml.safe_load(path.read_text())
    try:

        def axes(items: list[dict[str, Any]]) -> list[Axis]:
            return [
                Axis(
                    str(i["name"]),
                    tuple(i.get("overrides", [])),
                    i.get("metric"),
                    (i["derived"]["function"], tuple(i["derived"]["inputs"]))
                    if "derived" in i
                    else None,
                    i.get("unavailable"),
                )
                for i in items
            ]

        spec = TableSpec(
            name=name,
            title=raw["title"],
            source=raw["source"],
            metric=raw["metric"],
            rows=axes(raw["rows"]),
            cols=axes(raw["cols"]),
            seeds=[int(s) for s in raw["seeds"]],
            tolerance=float(raw["tolerance"]),
            scale=float(raw.get("scale", 1.0)),
            digits=int(raw.get("digits", 2)),
            overrides=tuple(raw.get("overrides", [])),
            profile=str(raw.get("profile", "paper")),
            note=raw.get("note", ""),
            paper=raw.get("paper") or {},
            notes=raw.get("notes") or {},
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise UserError(f"table spec {path} is invalid: {exc!r}") from None
    if "label" in raw:
        raise UserError(
            f"table spec {path}: 'label' is gone; name a profile (profile: cpu) whose config"
            " carries the label, and put protocol facts in 'note'"
        )
    from iclr.cli.overrides import group_choices

    if spec.profile not in group_choices("profile"):
        raise UserError(
            f"table spec {path}: unknown profile '{spec.profile}'; choose one of:"
            f" {', '.join(group_choices('profile'))}"
        )
    names_r, names_c = {r.name for r in spec.rows}, {c.name for c in spec.cols}
    if len(names_r) < len(spec.rows) or len(names_c) < len(spec.cols):
        # e.g. an unquoted YAML flow-mapping name with a comma splits into two equal names
        raise UserError(f"table spec {path}: row and column names must be unique")
    for axis in spec.rows:
        if axis.derived and set(axis.derived[1]) - names_r:
            raise UserError(
                f"table spec {path}: row {axis.name} derives from unknown rows "
                f"{set(axis.derived[1]) - names_r}"
            )
    if any(c.derived for c in spec.cols) or any(
        r.metric and c.metric and "{metric}" not in r.metric for r in spec.rows for c in spec.cols
    ):
        raise UserError(
            f"table spec {path}: a metric may be set on rows or on columns, not both (unless"
            " the row's metric is a template with {metric}); only rows may be derived"
        )
    for row, values in spec.paper.items():
        unknown = (set() if row in names_r else {row}) | (set(values) - names_c)
        if unknown:
            raise UserError(f"table spec {path}: paper values name unknown rows/cols {unknown}")
    return spec


@dataclass
class Cell:
    """One (row, column) of a table with its planned jobs and their state."""

    row: Axis
    col: Axis
    overrides: list[str]
    method: str = ""
    dataset: str = ""
    key: str = ""
    availability: str = "local"
    done_seeds: list[int] = field(default_factory=list)
    missing_seeds: list[int] = field(default_factory=list)
    stat: Stat | None = None
    failed: int = 0
    results: Path = Path()
    metric: str = ""
    values: dict[int, float] = field(default_factory=dict)
    stale_seeds: list[int] = field(default_factory=list)
    profile_label: str = ""
    reason: str = UNAVAILABLE  # why an unavailable cell does not run

    @property
    def runnable(self) -> bool:
        return self.availability != "unavailable"


def plan(spec: TableSpec, seeds: list[int], extra: tuple[str, ...] = ()) -> list[Cell]:
    """Compose every cell's config, find its records and say which seeds are missing or stale.

    ``extra`` overrides apply to every cell (e.g. ``method.epochs=20`` for a quick check); they
    change the cell keys, so such runs never mix with the spec's own. Every cell is checked
    before anything runs (method × dataset family, profile), so a bad table fails at once.
    """
    from iclr.cli.compose import composer
    from iclr.data.registry import get_source
    from iclr.data.store import availability
    from iclr.methods.registry import get_method

    cells = []
    composed: dict[tuple[str, ...], dict] = {}  # rows reading other metrics of the same runs
    with composer() as compose:
        for row in spec.rows:
            for col in spec.cols:
                if row.derived:
                    cells.append(Cell(row, col, [], availability="derived"))
                    continue
                overrides = [f"profile={spec.profile}", *spec.overrides]
                overrides += [*row.overrides, *col.overrides, *extra]
                if tuple(overrides) not in composed:
                    composed[tuple(overrides)] = _compose_cell(spec, row, col, overrides, compose)
                config = composed[tuple(overrides)]
                cell = Cell(
                    row,
                    col,
                    overrides,
                    config["method"]["name"],
                    config["dataset"]["name"],
                    records.cell_key(config),
                    profile_label=str(config["profile"]["label"]),
                )
                code = records.code_version(get_method(cell.method).entrypoint)
                cell.results = Path(config["paths"]["output_dir"]) / "results"
                for seed in seeds:
                    record = records.read_record(
                        records.record_path(cell.results, cell.method, cell.dataset, cell.key, seed)
                    )
                    if record is not None and record.ok:
                        cell.done_seeds.append(seed)
                        if record.stale(code):
                            cell.stale_seeds.append(seed)
                    else:
                        cell.missing_seeds.append(seed)
                if row.unavailable or col.unavailable:
                    cell.availability, cell.reason = (
                        "unavailable",
                        row.unavailable or col.unavailable,
                    )
                elif cell.missing_seeds:
                    mirror = config["paths"]["mirror"]
                    cell.availability = availability(
                        get_source(cell.dataset),
                        Path(config["paths"]["data_dir"]),
                        Path(mirror) if mirror else None,
                    )
                cells.append(cell)
    by_position = {(c.row.name, c.col.name): c for c in cells}
    for cell in cells:
        if cell.row.derived and not all(
            by_position[(row, cell.col.name)].runnable for row in cell.row.derived[1]
        ):
            cell.availability = "unavailable"
    return cells


def _compose_cell(spec: TableSpec, row: Axis, col: Axis, overrides: list[str], compose) -> dict:
    from iclr.cli import schema
    from iclr.cli.job import resolve_config
    from iclr.cli.overrides import check_pairing

    try:
        cfg = compose(overrides)
        # the same checks as `iclr run`: a typo in a spec or a --set value fails here, in the
        # plan, not inside a cell after hours of the table's other cells
        schema.check(cfg)
        check_pairing(cfg)
    except UserError as exc:
        raise UserError(f"table {spec.name}, cell ({row.name}, {col.name}): {exc}") from None
    except Exception as exc:
        raise UserError(
            f"table {spec.name}, cell ({row.name}, {col.name}): {str(exc).splitlines()[0]}"
        ) from None
    return resolve_config(cfg)


def cell_metric(row: Axis, col: Axis, default: str) -> str:
    """The metric a cell reads: the row's or the column's, or the spec's default. A row metric
    with ``{metric}`` is a template filled with the column's metric (e.g. row
    ``RNN-HP/{metric}`` × column ``user_prec``: one run per row, one metric per column)."""
    if row.metric and "{metric}" in row.metric:
        return row.metric.replace("{metric}", col.metric or default)
    return row.metric or col.metric or default


def collect(cells: list[Cell], spec: TableSpec, seeds: list[int]) -> None:
    """Fill each cell's per-seed values and statistics (in the paper's scale) from the store,
    then compute derived rows seed by seed from their input rows."""
    for cell in cells:
        if cell.row.derived:
            continue
        cell.metric = cell_metric(cell.row, cell.col, spec.metric)
        for seed in seeds:
            record = records.read_record(
                records.record_path(cell.results, cell.method, cell.dataset, cell.key, seed)
            )
            if record and record.ok and cell.metric in record.metrics:
                cell.values[seed] = record.metrics[cell.metric] * spec.scale
            elif record and record.status == "failed":
                cell.failed += 1
        cell.stat = Stat.of(list(cell.values.values()))
    by_position = {(c.row.name, c.col.name): c for c in cells}
    for cell in cells:
        if not cell.row.derived:
            continue
        function, inputs = cell.row.derived
        module_name, _, name = function.partition(":")
        compute = getattr(importlib.import_module(module_name), name)
        sources = [by_position[(row, cell.col.name)] for row in inputs]
        cell.metric = f"{name}({', '.join(inputs)})"
        for seed in seeds:
            if all(seed in source.values for source in sources):
                cell.values[seed] = float(compute(*(s.values[seed] for s in sources)))
        cell.stat = Stat.of(list(cell.values.values()))
        if not all(source.runnable for source in sources):
            cell.availability = "unavailable"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.=_-]+", "-", text).strip("-")


def jobs_to_run(cells: list[Cell], rerun_stale: bool = False) -> list[list[str]]:
    """Overrides of every missing (cell, seed) whose data is available (and of every stale one
    when ``rerun_stale``)."""
    # Cells that differ only in the metric they read (e.g. a model's tail and isolation rows)
    # share their runs: each (config, seed) runs once.
    jobs: dict[tuple[str, str, str, int], list[str]] = {}
    for cell in cells:
        if not cell.runnable or cell.row.derived:
            continue
        for seed in [*cell.missing_seeds, *(cell.stale_seeds if rerun_stale else [])]:
            jobs.setdefault(
                (cell.method, cell.dataset, cell.key, seed), [*cell.overrides, f"seed={seed}"]
            )
    return list(jobs.values())


def run_jobs(spec: TableSpec, jobs: list[list[str]], common: list[str]) -> list[Outcome]:
    """Run the jobs through the Hydra launcher that ``common`` selects (basic by default;
    ``hydra/launcher=joblib`` or ``hardware=slurm`` like a sweep); return their outcomes."""
    from iclr.cli.hydra_app import launch_jobs
    from iclr.cli.locations import data_dir, mirror_dir, output_dir
    from iclr.cli.summary import read_outcomes

    stamp = datetime.now().strftime("%Y-%m-%d/%H-%M-%S-%f")
    sweep_dir = output_dir() / "sweeps" / f"{stamp}-table-{_slug(spec.name)}"
    # Locations are fixed here, not in each worker: a reused joblib worker or a cluster node
    # may have another environment.
    mirror = mirror_dir()
    paths = [f"paths.output_dir='{output_dir()}'", f"paths.data_dir='{data_dir()}'"]
    paths.append(f"paths.mirror='{mirror}'" if mirror else "paths.mirror=null")
    launch_jobs(jobs, [*paths, *common], sweep_dir)
    return [outcome for _, outcome in read_outcomes(sweep_dir, multirun=True)]


def status(cell: Cell, spec: TableSpec, n_seeds: int) -> str:
    """✓ within tolerance of the paper, ✗ outside, or why there is no comparison; ``stale``
    when some of the cell's records were made by other code."""
    if cell.stat is None:
        if not cell.runnable:
            return cell.reason
        return f"failed ({cell.failed})" if cell.failed else "missing"
    paper = spec.paper_value(cell.row.name, cell.col.name)
    partial = f" ({cell.stat.n}/{n_seeds} seeds)" if cell.stat.n < n_seeds else ""
    if cell.stale_seeds:
        partial += f"; stale code ({len(cell.stale_seeds)})"
    if paper is None:
        return "no paper value" + partial
    return ("✓" if abs(cell.stat.mean - paper) <= spec.tolerance else "✗") + partial


def result_grid(cells: list[Cell], spec: TableSpec, n_seeds: int) -> Grid:
    """Human-readable grid: one line per cell with ours | paper | Δ | status."""
    d = spec.digits
    rows, footnotes = [], []
    for cell in cells:
        paper = spec.paper_value(cell.row.name, cell.col.name)
        ours = "—" if cell.stat is None else cell.stat.format(d)
        delta = f"{cell.stat.mean - paper:+.{d}f}" if cell.stat and paper is not None else "—"
        note = spec.notes.get(cell.row.name, {}).get(cell.col.name, "")
        if note and note not in footnotes:
            footnotes.append(note)
        mark = f" [{footnotes.index(note) + 1}]" if note else ""
        rows.append(
            [
                cell.row.name,
                cell.col.name,
                ours,
                "—" if paper is None else f"{paper:.{d}f}",
                delta,
                status(cell, spec, n_seeds) + mark,
            ]
        )
    label = f" [{profile_caption(cells, spec)}]"
    source = spec.source.strip().rstrip(".")
    metric = spec.metric if len({c.metric for c in cells} - {""}) <= 1 else "each row's metric"
    caption = " ".join(
        [
            f"ours: {metric} × {spec.scale:g}, mean ± std (n seeds of {n_seeds});",
            f"✓ = within ±{spec.tolerance:g} of the paper. Paper: {source}.",
            *(f"[{i}] {note}." for i, note in enumerate(footnotes, 1)),
        ]
    )
    return Grid(
        ["row", "col", "ours", "paper", "Δ", "status"],
        rows,
        title=f"{spec.name}: {spec.title}{label}",
        caption=caption,
        right_align={2, 3, 4},
    )


def profile_caption(cells: list[Cell], spec: TableSpec) -> str:
    """The profile every cell ran with, as its configs label it (one label per distinct one),
    plus the spec's protocol note."""
    labels = list(dict.fromkeys(c.profile_label for c in cells if c.profile_label))
    text = f"profile {spec.profile}: {'; '.join(labels)}" if labels else f"profile {spec.profile}"
    return f"{text}; {spec.note}" if spec.note else text


def csv_grid(cells: list[Cell], spec: TableSpec, n_seeds: int) -> Grid:
    """Machine-readable grid: ``row,col,mean,std,n,paper,delta,status`` (paper's scale)."""
    rows = []
    for cell in cells:
        paper = spec.paper_value(cell.row.name, cell.col.name)
        s = cell.stat
        rows.append(
            [
                cell.row.name,
                cell.col.name,
                "" if s is None else f"{s.mean:.4f}",
                "" if s is None else f"{s.std:.4f}",
                "0" if s is None else str(s.n),
                "" if paper is None else f"{paper:g}",
                "" if s is None or paper is None else f"{s.mean - paper:.4f}",
                status(cell, spec, n_seeds),
            ]
        )
    return Grid(["row", "col", "mean", "std", "n", "paper", "delta", "status"], rows)


def plan_grid(cells: list[Cell], spec: TableSpec, n_seeds: int) -> Grid:
    """What ``iclr table --plan`` shows: each cell, its config key and its state."""
    rows = []
    for cell in cells:
        if cell.row.derived:
            state = f"derived from {', '.join(cell.row.derived[1])}"
        elif not cell.missing_seeds:
            state = f"done {len(cell.done_seeds)}/{n_seeds}"
        elif not cell.runnable:
            state = cell.reason
        else:
            state = (
                f"to run {len(cell.missing_seeds)}/{n_seeds} (seeds "
                f"{', '.join(map(str, cell.missing_seeds))})"
                + ("; data will be downloaded" if cell.availability == "download" else "")
            )
        if cell.stale_seeds:
            state += f"; stale code: seeds {', '.join(map(str, cell.stale_seeds))} (--rerun-stale)"
        rows.append([cell.row.name, cell.col.name, " ".join(cell.overrides), cell.key, state])
    return Grid(
        ["row", "col", "overrides", "cell key", "state"],
        rows,
        title=f"{spec.name}: plan",
        right_align=set(),
    )


def wide_grid(cells: list[Cell], spec: TableSpec, n_seeds: int, stamp: str) -> Grid:
    """The table as the paper prints it: rows × columns, each cell ``ours ± std (paper)``."""
    d = spec.digits
    by_position = {(c.row.name, c.col.name): c for c in cells}
    rows = []
    for row in spec.rows:
        line = [row.name]
        for col in spec.cols:
            cell = by_position[(row.name, col.name)]
            paper = spec.paper_value(row.name, col.name)
            if cell.stat is None:
                ours = cell.reason if not cell.runnable else "—"
            else:
                ours = f"{cell.stat.mean:.{d}f}"
                if cell.stat.n > 1:
                    ours += f" ± {cell.stat.std:.{d}f}"
                if cell.stat.n < n_seeds:
                    ours += f" ({cell.stat.n} seed{'s' if cell.stat.n != 1 else ''})"
                if cell.stale_seeds:
                    ours += " (stale)"
            line.append(ours + ("" if paper is None else f" ({paper:.{d}f})"))
        rows.append(line)
    metric = spec.metric if len({c.metric for c in cells} - {""}) <= 1 else "each row's metric"
    caption = (
        f"Ours: mean ± std over {n_seeds} seeds, {metric} × {spec.scale:g}; paper value in"
        f" parentheses ({spec.source.strip().rstrip('.')}). {profile_caption(cells, spec)}."
        f" Generated by `iclr table {spec.name} --format md` {stamp}."
    )
    return Grid(
        ["", *(c.name for c in spec.cols)],
        rows,
        title=f"{spec.name}: {spec.title}",
        caption=caption,
        right_align=set(range(1, len(spec.cols) + 1)),
    )
