"""Run-folder figures: per-factor R² and OOD predictions vs true values (the learning curves
are the shared ``iclr.methods.common.curves.plot_history``)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from iclr.methods.indomain.factors import FactorSpec


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def write_per_factor(rows: list[dict], csv_path: Path, png_path: Path, title: str) -> None:
    """``per_factor.csv`` (subset, factor, r2, n) and a grouped bar chart of it."""
    with csv_path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["subset", "factor", "r2", "n"])
        writer.writeheader()
        writer.writerows(rows)
    plt = _pyplot()
    subsets = list(dict.fromkeys(r["subset"] for r in rows))
    factors = list(dict.fromkeys(r["factor"] for r in rows))
    value = {(r["subset"], r["factor"]): r["r2"] for r in rows}
    width = 0.8 / len(subsets)
    fig, axis = plt.subplots(figsize=(1.6 * len(factors) + 2, 3.2))
    for i, subset in enumerate(subsets):
        heights = [max(value.get((subset, f), np.nan), -1.0) for f in factors]
        axis.bar(np.arange(len(factors)) + i * width, heights, width, label=subset)
    axis.set_xticks(np.arange(len(factors)) + 0.4 - width / 2, factors, fontsize=8)
    axis.axhline(0, color="k", lw=0.5)
    axis.set(ylabel="R² (full-grid variance; clipped at -1)", ylim=(-1, 1.05))
    axis.legend(fontsize=7)
    axis.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(png_path, dpi=110)
    plt.close(fig)


def collapse_plot(pairs: dict, spec: FactorSpec, ood_values, path: Path, title: str) -> None:
    """Per OOD factor: predictions (mean ± std per true value) against the true values, with
    the training values marked; collapse = predictions bending back to the training range."""
    if not pairs:
        return
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(pairs), figsize=(3.2 * len(pairs), 3), squeeze=False)
    for axis, (f, (t, p)) in zip(axes[0], pairs.items(), strict=True):
        values = spec.value_axes()[f]
        train = np.delete(values, ood_values[f])
        axis.scatter(t, p, s=3, alpha=0.2, color="tab:red", label="OOD test")
        for v in np.unique(t):
            sel = p[t == v]
            axis.errorbar(v, sel.mean(), sel.std(), fmt="o", color="k", ms=3)
        axis.plot([0, 1], [0, 1], "k--", lw=0.7)
        axis.plot(train, train, "|", color="tab:blue", ms=12, label="train values")
        axis.set(xlabel=f"true {spec.names[f]}", ylabel="predicted", xlim=(-0.05, 1.05))
        axis.legend(fontsize=6)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
