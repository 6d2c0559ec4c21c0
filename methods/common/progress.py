"""Epoch progress: a Rich bar in an interactive terminal, silent in CI and pipes."""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol


class Advance(Protocol):
    def __call__(self, **metrics: float) -> None: ...


LOG_EVERY_S = 10.0


def _log_lines(total: int, description: str) -> Advance:
    """Without a terminal: a log line every ``LOG_EVERY_S`` seconds (and at the end), so a log
    file shows where a long job is."""
    log = logging.getLogger("iclr")
    state = {"done": 0, "last": time.monotonic()}

    def advance(**metrics: float) -> None:
        state["done"] += 1
        now = time.monotonic()
        if now - state["last"] >= LOG_EVERY_S or state["done"] == total:
            state["last"] = now
            info = "  ".join(f"{k} {v:.4f}" for k, v in metrics.items())
            log.info("%s: %d/%d %s", description, state["done"], total, info)

    return advance


def interactive() -> bool:
    """True in a terminal that a person is watching (not CI, not a pipe)."""
    return sys.stderr.isatty() and not os.environ.get("CI")


@contextmanager
def epoch_progress(total: int, description: str, enabled: bool | None = None) -> Iterator[Advance]:
    """Yield ``advance(**metrics)``, to call once per epoch; shows a bar only when interactive."""
    if not (interactive() if enabled is None else enabled):
        yield _log_lines(total, description)
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
