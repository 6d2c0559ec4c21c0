"""Learning curves from a run's ``history.csv``: one panel per logged quantity against the
first column (epoch or step), the selected epoch marked."""

from __future__ import annotations

from pathlib import Path


def plot_history(history: Path, target: Path, selected: float | None = None) -> None:
    """Write ``target`` (PNG) with every numeric column of ``history`` against its first."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    frame = pd.read_csv(history)
    x, columns = frame.columns[0], list(frame.select_dtypes("number").columns[1:])
    if not columns:
        return
    fig, grid = plt.subplots(
        len(columns), 1, figsize=(6, 1.8 * len(columns)), sharex=True, squeeze=False
    )
    axes = list(grid[:, 0])
    for ax, column in zip(axes, columns, strict=True):
        ax.plot(frame[x], frame[column], lw=1.2)
        ax.set_ylabel(column, fontsize=8)
        if selected is not None:
            ax.axvline(selected, color="tab:red", ls="--", lw=0.8)
    axes[-1].set_xlabel(x)
    if selected is not None:
        axes[0].set_title(f"selected {x} {selected:g} (dashed)", fontsize=8)
    fig.tight_layout()
    target.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(target, dpi=90)
    plt.close(fig)
