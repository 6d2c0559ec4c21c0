"""Rich summaries printed at the end of ``iclr run`` (one job) and ``iclr run -m`` (a sweep)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from iclr.cli.job import OUTCOME_FILE
from iclr.cli.render import Grid, emit

HIDDEN_OVERRIDES = ("method=", "dataset=", "seed=", "runner.", "hydra", "paths.")


def read_outcomes(folder: Path, multirun: bool) -> list[dict[str, Any]]:
    """Outcomes written by the jobs of a run folder or a sweep folder, in job order."""
    if not multirun:
        path = folder / OUTCOME_FILE
        return [json.loads(path.read_text())] if path.is_file() else []
    found = []
    for path in folder.glob(f"*/{OUTCOME_FILE}"):
        outcome = json.loads(path.read_text())
        outcome["num"] = int(path.parent.name) if path.parent.name.isdigit() else len(found)
        found.append(outcome)
    return sorted(found, key=lambda o: o["num"])


def setting(overrides: list[str]) -> str:
    """The overrides that distinguish a cell, beyond method, dataset and seed."""
    kept = (o.lstrip("+") for o in overrides)
    return " ".join(o for o in kept if not o.lstrip("~").startswith(HIDDEN_OVERRIDES))


def _value(outcome: dict[str, Any]) -> str:
    value = outcome.get("value")
    return "—" if value is None else f"{value:.4f}"


def print_single(outcome: dict[str, Any]) -> None:
    """Panel for one job: metric with its selection rule, runtime, run folder and record."""
    from rich.console import Console
    from rich.panel import Panel

    status = outcome["status"]
    colour = {"done": "green", "cached": "cyan", "failed": "red"}[status]
    lines = [
        f"[bold]{outcome['method']}[/] on [bold]{outcome['dataset']}[/], seed {outcome['seed']}"
        f"  [{colour}]{status}[/]"
    ]
    if status == "failed":
        lines.append(f"[red]{outcome.get('error')}[/]")
    else:
        line = f"{outcome['metric']} = [bold]{_value(outcome)}[/]"
        if outcome.get("selection"):
            epoch = outcome.get("best_epoch")
            at = f", epoch {int(epoch)}" if epoch is not None else ""
            line += f"  (selection: {outcome['selection']}{at})"
        lines.append(line)
        groups = [
            f"{name} {value:.4f}"
            for name, value in outcome.get("metrics", {}).items()
            if name.startswith(("acc_", "teacher_acc_", "teacher_test_acc"))
        ]
        if groups:  # e.g. Cold Brew's head / tail / isolation accuracies, and its teacher's
            lines.append("  ".join(groups))
    if outcome.get("runtime_s") is not None:
        lines.append(f"runtime {outcome['runtime_s']:.1f} s")
    lines.append(f"run folder {outcome['run_dir']}")
    lines.append(f"record {outcome['record']}")
    Console().print(Panel("\n".join(lines), title="iclr run", expand=False))


def print_sweep(outcomes: list[dict[str, Any]], expected: int, fmt: str = "rich") -> Counter:
    """One table for a sweep plus done / cached / failed counts; returns the counts."""
    # A sweep config (hydra.sweeper.params) can add jobs the command line does not show.
    expected = max(expected, len(outcomes))
    counts = Counter(o["status"] for o in outcomes)
    if expected > len(outcomes):
        counts["failed"] += expected - len(outcomes)
    rows = [
        [
            str(o["num"]),
            o["method"],
            o["dataset"],
            str(o["seed"]),
            setting(o["overrides"]),
            o["status"],
            _value(o),
            f"{o['runtime_s']:.1f}" if o.get("runtime_s") is not None else "",
            o.get("error") or "",
        ]
        for o in outcomes
    ]
    missing = expected - len(outcomes)
    jobs = "job" if expected == 1 else "jobs"
    caption = (
        f"{expected} {jobs}: {counts['done']} done, {counts['cached']} cached, "
        f"{counts['failed']} failed" + (f" ({missing} left no outcome)" if missing else "")
    )
    metric = outcomes[0]["metric"] if outcomes else "metric"
    headers = ["#", "method", "dataset", "seed", "setting", "status", metric, "time (s)", "error"]
    # Drop the optional columns (setting, error) when no job fills them.
    keep = [
        i
        for i, h in enumerate(headers)
        if h not in ("setting", "error") or any(row[i] for row in rows)
    ]
    grid = Grid(
        [headers[i] for i in keep],
        [[row[i] for i in keep] for row in rows],
        title="iclr run -m",
        caption=caption,
        right_align={keep.index(i) for i in (0, 3, 6, 7)},
    )
    emit(grid, fmt)
    return counts
