"""Rich summaries printed at the end of ``iclr run`` (one job) and ``iclr run -m`` (a sweep)."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

from iclr.cli.job import OUTCOME_FILE
from iclr.cli.records import Outcome
from iclr.cli.render import Grid, emit

HIDDEN_OVERRIDES = ("method=", "dataset=", "seed=", "runner.", "hydra", "paths.")


def read_outcomes(folder: Path, multirun: bool) -> list[tuple[int, Outcome]]:
    """(job number, outcome) written by the jobs of a run folder or a sweep folder, in order."""
    if not multirun:
        path = folder / OUTCOME_FILE
        return [(0, Outcome.from_json(path.read_text()))] if path.is_file() else []
    found = []
    for path in folder.glob(f"*/{OUTCOME_FILE}"):
        num = int(path.parent.name) if path.parent.name.isdigit() else len(found)
        found.append((num, Outcome.from_json(path.read_text())))
    return sorted(found, key=lambda pair: pair[0])


def setting(overrides: list[str]) -> str:
    """The overrides that distinguish a cell, beyond method, dataset and seed."""
    kept = (o.lstrip("+") for o in overrides)
    return " ".join(o for o in kept if not o.lstrip("~").startswith(HIDDEN_OVERRIDES))


def _value(outcome: Outcome) -> str:
    value = outcome.record.value
    return "—" if value is None else f"{value:.4f}"


def _state(outcome: Outcome) -> str:
    return f"{outcome.state} (stale code)" if outcome.stale else outcome.state


def print_single(outcome: Outcome) -> None:
    """Panel for one job: metric with its selection rule, runtime, run folder and record."""
    from rich.console import Console
    from rich.panel import Panel
    from rich.text import Text

    record = outcome.record
    colour = {"done": "green", "cached": "cyan", "failed": "red"}[outcome.state]
    lines = [
        f"[bold]{record.method}[/] on [bold]{record.dataset}[/], seed {record.seed}"
        f"  [{colour}]{_state(outcome)}[/]"
    ]
    if outcome.state == "failed":
        lines.append(f"[red]{record.error}[/]")
    else:
        line = f"{record.main_metric} = [bold]{_value(outcome)}[/]"
        if record.selection:
            epoch = record.metrics.get("best_epoch")
            at = f", epoch {int(epoch)}" if epoch is not None else ""
            line += f"  (selection: {record.selection}{at})"
        lines.append(line)
        # what else the method's config asks a summary to show (its summary_metrics)
        shown = [
            f"{m} {record.metrics[m]:.4f}" for m in record.summary_metrics if m in record.metrics
        ]
        if shown:
            lines.append("  ".join(shown))
    if record.runtime_s is not None:
        lines.append(f"runtime {record.runtime_s:.1f} s")
    if outcome.state == "cached":
        lines.append(f"run folder {record.run_dir} (the run that made the record)")
    else:
        lines.append(f"run folder {outcome.run_dir}")
    lines.append(f"record {outcome.record_path}")
    if not sys.stdout.isatty():  # piped or logged: plain lines, never wrapped into a box
        print("\n".join(Text.from_markup(line).plain for line in lines))
        return
    Console().print(Panel("\n".join(lines), title="iclr run", expand=False))


def print_sweep(outcomes: list[tuple[int, Outcome]], expected: int, fmt: str = "rich") -> Counter:
    """One table for a sweep plus done / cached / failed counts; returns the counts."""
    # A sweep config (hydra.sweeper.params) can add jobs the command line does not show.
    expected = max(expected, len(outcomes))
    counts = Counter(o.state for _, o in outcomes)
    if expected > len(outcomes):
        counts["failed"] += expected - len(outcomes)
    rows = [
        [
            str(num),
            o.record.method,
            o.record.dataset,
            str(o.record.seed),
            setting(o.record.overrides),
            _state(o),
            _value(o),
            f"{o.record.runtime_s:.1f}" if o.record.runtime_s is not None else "",
        ]
        for num, o in outcomes
    ]
    missing = expected - len(outcomes)
    jobs = "job" if expected == 1 else "jobs"
    caption = (
        f"{expected} {jobs}: {counts['done']} done, {counts['cached']} cached, "
        f"{counts['failed']} failed" + (f" ({missing} left no outcome)" if missing else "")
    )
    metric = outcomes[0][1].record.main_metric if outcomes else "metric"
    headers = ["#", "method", "dataset", "seed", "setting", "status", metric, "time (s)"]
    # Drop the optional setting column when no job fills it.
    keep = [i for i, h in enumerate(headers) if h != "setting" or any(row[i] for row in rows)]
    grid = Grid(
        [headers[i] for i in keep],
        [[row[i] for i in keep] for row in rows],
        title="iclr run -m",
        caption=caption,
        right_align={keep.index(i) for i in (0, 3, 6, 7)},
    )
    emit(grid, fmt)
    # Errors below the table, whole: a narrow terminal or a pipe must not cut them.
    from rich.console import Console
    from rich.markup import escape

    console = Console(stderr=True, soft_wrap=True)
    for num, o in outcomes:
        if o.state == "failed":
            where = " ".join(filter(None, [setting(o.record.overrides), f"seed={o.record.seed}"]))
            console.print(
                f"[red]failed #{num}[/] {o.record.method}/{o.record.dataset} {escape(where)}:"
                f" {escape(o.record.error or '')}"
            )
    return counts
