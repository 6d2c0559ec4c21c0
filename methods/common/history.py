"""Per-epoch history written as CSV in the run folder, one flushed row per epoch."""

from __future__ import annotations

import csv
from pathlib import Path
from types import TracebackType


class History:
    """Append-only CSV writer: the columns are fixed by the first row written."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle = None
        self._writer: csv.DictWriter | None = None

    def __enter__(self) -> History:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def write(self, **row: float | int) -> None:
        """Write one epoch's values."""
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = self.path.open("w", newline="")
            self._writer = csv.DictWriter(self._handle, fieldnames=list(row))
            self._writer.writeheader()
        self._writer.writerow(
            {k: f"{v:.6g}" if isinstance(v, float) else v for k, v in row.items()}
        )
        self._handle.flush()

    def close(self) -> None:
        """Close the file (idempotent)."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None
