"""Aggregate records over seeds: mean ± std (n) per (method, dataset, setting)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from iclr.cli.records import Record
from iclr.cli.summary import setting


@dataclass(frozen=True)
class Stat:
    """Mean and sample standard deviation (ddof=1; 0 for one value) of n values."""

    mean: float
    std: float
    n: int

    @classmethod
    def of(cls, values: list[float]) -> Stat | None:
        """Statistics of ``values`` (None when empty)."""
        if not values:
            return None
        n = len(values)
        mean = sum(values) / n
        var = sum((v - mean) ** 2 for v in values) / (n - 1) if n > 1 else 0.0
        return cls(mean, math.sqrt(var), n)

    def scaled(self, factor: float) -> Stat:
        """The same statistics in another unit (e.g. ×100 for percent)."""
        return Stat(self.mean * factor, self.std * factor, self.n)

    def format(self, digits: int = 4) -> str:
        """``mean ± std (n)``; one value has no spread to show: ``value (1)``."""
        if self.n == 1:
            return f"{self.mean:.{digits}f} (1)"
        return f"{self.mean:.{digits}f} ± {self.std:.{digits}f} ({self.n})"


def summarise(
    records: Iterable[Record], metric: str | None = None, current_code: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """One row per cell: method, dataset, setting, cell key, metric, Stat, seeds, failed count
    and how many of its records were made by other code than ``current_code[method]``."""
    cells: dict[tuple[str, str, str], dict[str, Any]] = {}
    for record in records:
        key = (record.method, record.dataset, record.cell_key)
        cell = cells.setdefault(
            key,
            {
                "method": record.method,
                "dataset": record.dataset,
                "cell_key": record.cell_key,
                "setting": setting(record.overrides),
                "metric": metric or record.main_metric,
                "values": [],
                "seeds": [],
                "failed": 0,
                "stale": 0,
            },
        )
        value = record.metrics.get(cell["metric"])
        if record.ok and value is not None:
            cell["values"].append(float(value))
            cell["seeds"].append(record.seed)
            code = (current_code or {}).get(record.method)
            cell["stale"] += code is not None and record.stale(code)
        elif record.status == "failed":
            cell["failed"] += 1
    rows = []
    for cell in sorted(cells.values(), key=lambda c: (c["method"], c["dataset"], c["setting"])):
        cell["stat"] = Stat.of(cell.pop("values"))
        cell["seeds"] = sorted(cell["seeds"])
        rows.append(cell)
    return rows
