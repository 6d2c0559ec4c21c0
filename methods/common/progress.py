"""Epoch progress: a Rich bar in an interactive terminal, silent in CI and pipes."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol


class Advance(Protocol):
    def __call__(self, **metrics: float) -> None: ...


def interactive() -> bool:
    """True in a terminal that a person is watching (not CI, not a pipe)."""
    return sys.stderr.isatty() and not os.environ.get("CI")


@contextmanager
def epoch_progress(total: int, description: str, enabled: bool | None = None) -> Iterator[Advance]:
    """Yield ``advance(**metrics)``, to call once per epoch; shows a bar only when interactive."""
    if not (interactive() if enabled is None else enabled):
        yield lambda **metrics: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[info]}"),
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=total, info="")

        def advance(**metrics: float) -> None:
            info = "  ".join(f"{k} {v:.4f}" for k, v in metrics.items())
            bar.update(task, advance=1, info=info)

        yield advance
