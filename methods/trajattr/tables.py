"""Derived table rows (``derived.function`` in conf/tables/trajattr/*.yaml)."""

from __future__ import annotations


def mean(*values: float) -> float:
    """Plain mean over the five ETH/UCY folds (the paper's ETH-UCY average), per seed."""
    return sum(values) / len(values)
