"""Learning curve of a Trans-Encoder run: STS-B dev Spearman at each evaluation, per stage."""

from __future__ import annotations

import csv
from pathlib import Path


def learning_curve(history_csv: Path, png: Path) -> None:
    """Plot dev Spearman x100 against the evaluation index, one line per (cycle, mode)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with history_csv.open() as handle:
        rows = list(csv.DictReader(handle))
    fig, ax = plt.subplots(figsize=(7, 4))
    groups: dict[tuple[str, str, str], list[float]] = {}
    for r in rows:
        groups.setdefault((r["cycle"], r["model"], r["mode"]), []).append(float(r["dev_spearman"]))
    x = 0
    for (cycle, _model, mode), values in groups.items():
        xs = list(range(x, x + len(values)))
        ax.plot(xs, values, "o-", color="C0" if mode == "bi" else "C1", label=mode)
        ax.annotate(f"c{cycle} {mode}", (xs[-1], values[-1]), fontsize=7)
        x += len(values)
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))
    ax.legend(unique.values(), unique.keys())
    ax.set_xlabel("evaluation (stages in order)")
    ax.set_ylabel("STS-B dev Spearman x100")
    ax.set_title("Trans-Encoder: dev Spearman per stage")
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    plt.close(fig)
