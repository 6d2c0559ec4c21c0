"""Frozen feature extractors for the last-layer linearisation: z_i = backbone(x_i) (+ a bias 1).

- ``random_relu``: a fixed random ReLU layer, the floor (no learned features at all).
- ``cnn``: a small CNN that our code pre-trains (cross-entropy, Adam) on a disjoint
  ``pretrain`` part of the same dataset, then freezes; z = its penultimate activations.
  No pre-trained image weights exist offline: this stands in for the paper's ImageNet ResNet.
- ``linearised_cnn``: a tiny CNN (``TinyCNN``, a few thousand parameters) pre-trained the same
  way, then *fully* linearised: features = per-sample Jacobians of its K outputs with respect to
  all its parameters (``linearised.jacobian_features``).
- ``minilm``: all-MiniLM-L6-v2 sentence embeddings (see ``sentence_pair_features``).
"""

from __future__ import annotations

import logging
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

log = logging.getLogger(__name__)


def with_bias(z: Tensor) -> Tensor:
    """Append a constant-1 column (an unregularised-in-spirit intercept for the ridge head)."""
    return torch.cat([z, torch.ones(z.shape[0], 1, dtype=z.dtype)], dim=1)


class RandomReLU:
    """z = ReLU(W x̃ + b)/√width on inputs x̃ standardised with the training rows' statistics;
    W ~ N(0, 1/D), b ~ N(0, 1), drawn from ``seed``."""

    def __init__(self, fit_on: Tensor, width: int, seed: int) -> None:
        flat = fit_on.flatten(1).double()
        self.mean, self.std = flat.mean(0), flat.std().clamp_min(1e-12)
        generator = torch.Generator().manual_seed(seed)
        dim = flat.shape[1]
        self.weight = torch.randn(dim, width, generator=generator, dtype=torch.float64) / dim**0.5
        self.bias = torch.randn(width, generator=generator, dtype=torch.float64)

    def __call__(self, images: Tensor) -> Tensor:
        x = (images.flatten(1).double() - self.mean) / self.std
        return F.relu(x @ self.weight + self.bias) / self.weight.shape[1] ** 0.5


class SmallCNN(nn.Module):
    """Two 3×3 conv blocks (32, 64 channels, max-pool) and a ``width`` fully connected layer
    whose ReLU activations are the features; a linear classifier on top for pre-training."""

    def __init__(self, side: int, num_classes: int, width: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(64 * (side // 4) ** 2, width),
            nn.ReLU(),
        )
        self.head = nn.Linear(width, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.body(x))


class TinyCNN(nn.Module):
    """conv(1→``channels``, 3×3)–ReLU–max-pool 2–fc ``width``–ReLU–fc K: small enough (2,314
    parameters on 8×8 digits with 8 channels and width 16) for a full linearisation."""

    def __init__(self, side: int, num_classes: int, width: int, channels: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, channels, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(channels * (side // 2) ** 2, width),
            nn.ReLU(),
            nn.Linear(width, num_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


def build_cnn(side: int, num_classes: int, cfg: Any) -> nn.Module:
    """``TinyCNN`` for ``kind: linearised_cnn``, else ``SmallCNN``."""
    if cfg.kind == "linearised_cnn":
        return TinyCNN(side, num_classes, int(cfg.width), int(cfg.channels))
    return SmallCNN(side, num_classes, int(cfg.width))


def pretrain_cnn(
    images: Tensor, labels: Tensor, num_classes: int, cfg: Any, seed: int
) -> nn.Module:
    """Train the backbone's CNN on the pre-training images (never the DIVA train/test rows)."""
    torch.manual_seed(seed)
    model = build_cnn(images.shape[-1], num_classes, cfg)
    optimizer = torch.optim.Adam(model.parameters(), lr=float(cfg.lr))
    generator = torch.Generator().manual_seed(seed)
    batch = int(cfg.batch_size)
    model.train()
    for epoch in range(int(cfg.epochs)):
        order = torch.randperm(images.shape[0], generator=generator)
        total = 0.0
        for start in range(0, len(order), batch):
            rows = order[start : start + batch]
            optimizer.zero_grad()
            loss = F.cross_entropy(model(images[rows]), labels[rows])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(rows)
        log.info("CNN pre-training epoch %d: loss %.4f", epoch, total / images.shape[0])
    return model.eval()


@torch.inference_mode()
def cnn_features(model: SmallCNN, images: Tensor, batch: int = 512) -> Tensor:
    """Penultimate activations of the frozen CNN, in float64."""
    return torch.cat(
        [model.body(images[i : i + batch]) for i in range(0, len(images), batch)]
    ).double()


def sentence_pair_features(u: Tensor, v: Tensor) -> Tensor:
    """[u, v, |u − v|, u ⊙ v] for sentence embeddings u, v (InferSent / SBERT pair features)."""
    u, v = u.double(), v.double()
    return torch.cat([u, v, (u - v).abs(), u * v], dim=1)
