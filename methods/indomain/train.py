"""Training loops: supervised regression (MSE on normalised factors) and β-VAE pre-training.

Images stay uint8 in memory and become float batches on the fly (``Batches``); the kit has no
training code, so optimiser and schedule are ours (Adam, constant learning rate).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from iclr.methods.common.history import History
from iclr.methods.common.progress import epoch_progress


@dataclass
class Batches:
    """uint8 images (N, C, 64, 64) and float targets, served as float tensors on ``device``."""

    images: np.ndarray
    targets: np.ndarray
    pixel_scale: float
    resolution: int
    device: torch.device

    def tensor(self, rows: np.ndarray) -> torch.Tensor:
        """Float images of ``rows``, average-pooled to ``resolution``."""
        x = torch.from_numpy(self.images[rows]).to(self.device).float() * self.pixel_scale
        factor = x.shape[-1] // self.resolution
        return F.avg_pool2d(x, factor) if factor > 1 else x

    def epoch(self, batch_size: int, rng: np.random.Generator) -> Iterator[tuple]:
        """Shuffled (images, targets) batches over all rows."""
        order = rng.permutation(len(self.images))
        for start in range(0, len(order), batch_size):
            rows = np.sort(order[start : start + batch_size])
            yield self.tensor(rows), torch.from_numpy(self.targets[rows]).to(self.device)


@torch.no_grad()
def predict(model: nn.Module, data: Batches, batch_size: int = 512) -> np.ndarray:
    """Model outputs on every row of ``data`` (eval mode)."""
    model.eval()
    rows = np.arange(len(data.images))
    out = [
        model(data.tensor(rows[s : s + batch_size])).cpu() for s in range(0, len(rows), batch_size)
    ]
    return torch.cat(out).numpy() if out else np.zeros((0, data.targets.shape[1]), np.float32)


def train_regressor(
    model: nn.Module,
    train: Batches,
    val: Batches,
    cfg,
    seed: int,
    history: Path,
    score: Callable[[np.ndarray, np.ndarray], float],
) -> dict[str, float]:
    """Fit ``model`` by MSE for ``cfg.epochs`` epochs; log loss and validation R² per epoch."""
    params = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.Adam(params, lr=float(cfg.lr), weight_decay=float(cfg.weight_decay))
    rng = np.random.default_rng(seed)
    seen, busy = 0, 0.0
    with History(history) as log, epoch_progress(int(cfg.epochs), "indomain") as advance:
        for epoch in range(1, int(cfg.epochs) + 1):
            model.train()
            if hasattr(model, "vae"):
                model.vae.eval()  # frozen representation: no BatchNorm/dropout updates
            start, total = time.perf_counter(), 0.0
            for x, y in train.epoch(int(cfg.batch_size), rng):
                loss = F.mse_loss(model(x), y)
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                optimiser.step()
                total += loss.item() * len(x)
            seconds = time.perf_counter() - start
            seen, busy = seen + len(train.images), busy + seconds
            val_r2 = score(predict(model, val), val.targets) if len(val.images) else float("nan")
            row = {"epoch": epoch, "train_mse": total / len(train.images), "val_r2": val_r2}
            log.write(**row, seconds=seconds, images_per_s=len(train.images) / seconds)
            advance(train_mse=row["train_mse"], val_r2=val_r2)
    return {"train_images_per_s": seen / busy if busy else 0.0, "train_s": busy}


def train_vae(vae, train: Batches, cfg, seed: int, history: Path) -> dict[str, float]:
    """Unsupervised β-VAE pre-training on the train images only (labels unused)."""
    optimiser = torch.optim.Adam(vae.parameters(), lr=float(cfg.vae_lr))
    rng = np.random.default_rng(seed + 1)
    busy, seen = 0.0, 0
    with History(history) as log:
        for epoch in range(1, int(cfg.vae_epochs) + 1):
            vae.train()
            start, total, kl_total = time.perf_counter(), 0.0, 0.0
            for x, _ in train.epoch(int(cfg.batch_size), rng):
                loss, kl = vae.loss(x, float(cfg.beta))
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                optimiser.step()
                total, kl_total = total + loss.item() * len(x), kl_total + kl.item() * len(x)
            seconds = time.perf_counter() - start
            busy, seen = busy + seconds, seen + len(train.images)
            n = len(train.images)
            log.write(epoch=epoch, neg_elbo=total / n, kl=kl_total / n, seconds=seconds)
    return {"vae_images_per_s": seen / busy if busy else 0.0, "vae_train_s": busy}


def train_pcl(pcl, anchors: Batches, partners: Batches, cfg, seed: int, history: Path) -> dict:
    """PCL pre-training on (anchor, partner) rows of two aligned ``Batches`` (labels unused)."""
    optimiser = torch.optim.Adam(pcl.parameters(), lr=float(cfg.pcl_lr))
    rng = np.random.default_rng(seed + 2)
    busy, seen, n = 0.0, 0, len(anchors.images)
    batch = int(cfg.batch_size)
    with History(history) as log:
        for epoch in range(1, int(cfg.pcl_epochs) + 1):
            pcl.train()
            start, total = time.perf_counter(), 0.0
            order = rng.permutation(n)
            for s in range(0, n - 1, batch):
                rows = np.sort(order[s : s + batch])
                if len(rows) < 2:
                    continue
                loss = pcl.loss(anchors.tensor(rows), partners.tensor(rows))
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                optimiser.step()
                total += loss.item() * len(rows)
            seconds = time.perf_counter() - start
            busy, seen = busy + seconds, seen + 2 * n
            log.write(epoch=epoch, logistic_loss=total / n, seconds=seconds)
    return {"pcl_images_per_s": seen / busy if busy else 0.0, "pcl_train_s": busy}
