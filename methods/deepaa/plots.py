"""Figures of a DeepAA run: the searched policy (op probability per layer), the search curves
and a grid of augmented samples (what users of the official code asked for in its issue #8).
The evaluation's learning curves are drawn from ``history.csv`` by the job runner."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from iclr.methods.deepaa.ops import OP_NAMES


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_search_curves(history: Path, target: Path) -> None:
    """Cosine of g_aug with g_val, policy entropy and time per search step (shared helper)."""
    from iclr.methods.common.curves import plot_history

    plot_history(history, target)


def plot_policy(op_probs: Tensor, path: Path, title: str) -> None:
    """Heat map of the probability of each op (summed over levels) in each layer."""
    plt = _pyplot()
    k = op_probs.shape[0]
    fig, ax = plt.subplots(figsize=(1.2 + 0.9 * k, 5))
    image = ax.imshow(op_probs.T.numpy(), aspect="auto", cmap="viridis", vmin=0)
    ax.set_yticks(range(len(OP_NAMES)), OP_NAMES, fontsize=8)
    ax.set_xticks(range(k), [f"L{i + 1}" for i in range(k)])
    for layer in range(k):
        for op in range(len(OP_NAMES)):
            ax.text(
                layer,
                op,
                f"{float(op_probs[layer, op]):.2f}",
                ha="center",
                va="center",
                fontsize=6,
                color="white",
            )
    fig.colorbar(image, ax=ax, fraction=0.05)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def save_grid(images: Tensor, path: Path, scale: int = 2) -> None:
    """Rows of augmented copies (R, A, C, H, W) in [0, 1] as one PNG mosaic (1-pixel gaps),
    written with Pillow (no figure: cheap enough to do in every run)."""
    import numpy as np
    from PIL import Image

    rows, cols, c, h, w = images.shape
    canvas = torch.ones(c, rows * (h + 1) + 1, cols * (w + 1) + 1)
    for r in range(rows):  # at most 8 × 8 tiles
        for col in range(cols):
            y, x = 1 + r * (h + 1), 1 + col * (w + 1)
            canvas[:, y : y + h, x : x + w] = images[r, col].clamp(0, 1)
    pixels = (canvas * 255).round().byte().permute(1, 2, 0).numpy()
    pixels = np.repeat(np.repeat(pixels, scale, 0), scale, 1)
    Image.fromarray(pixels[..., 0] if c == 1 else pixels).save(path)


def augmented_grid(x: Tensor, augment, copies: int, gen: torch.Generator) -> Tensor:
    """``copies`` augmentations of each image of ``x`` (first column: the original)."""
    reps = augment(x.repeat_interleave(copies - 1, 0), gen).view(len(x), copies - 1, *x.shape[1:])
    return torch.cat([x[:, None], reps], 1)
