"""Run figures: the GAN learning curve (from history.csv) and real vs synthetic windows."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np


def plot_learning_curve(history: Path, path: Path, title: str) -> None:
    """Discriminator / generator loss and moment loss per epoch (and EBGAN's mean real / fake
    energies when logged); depth changes marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with history.open() as handle:
        rows = list(csv.DictReader(handle))
    epoch = [float(r["epoch"]) for r in rows]
    fig, axis = plt.subplots(figsize=(6, 3.5))
    logged = set(rows[0]) if rows else set()
    for key in ("loss_d", "loss_g", "moment", "energy_real", "energy_fake"):
        if key not in logged:
            continue
        axis.plot(epoch, [float(r[key]) for r in rows], label=key)
    depth = [int(float(r["depth"])) for r in rows]
    for i in range(1, len(depth)):
        if depth[i] != depth[i - 1]:
            axis.axvline(epoch[i], color="grey", lw=0.5, ls=":")
    axis.set_xlabel("epoch (dotted: a new stage)")
    axis.set_ylabel("loss")
    axis.legend(fontsize=8)
    axis.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_samples(real: np.ndarray, fake: np.ndarray, path: Path, count: int = 8) -> None:
    """``count`` real windows beside synthetic windows of the same series and time features."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    count = min(count, len(real))
    fig, axes = plt.subplots(2, count, figsize=(2 * count, 3.5), sharey=True, squeeze=False)
    for i in range(count):
        axes[0, i].plot(real[i], lw=0.8)
        axes[1, i].plot(fake[i], lw=0.8, color="C1")
    axes[0, 0].set_ylabel("real")
    axes[1, 0].set_ylabel("synthetic")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
