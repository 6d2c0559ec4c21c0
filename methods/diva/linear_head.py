"""The SGD-trained linear softmax head that DIVA's Table 1 baselines (Active Bias, L2RW) share.

Both baselines reweight the per-sample losses of mini-batch SGD, so they train a linear
classifier on the *same frozen features* as DIVA's ridge head (``tasks.load_task``, bias column
included) with softmax cross-entropy, as their own papers do. Only the classifier's training
rule differs from DIVA's closed-form ridge: same features, same linear family.

The step size is given in units of 1/mean‖z‖² (``step_size``): the curvature of a linear
softmax loss is at most ½·mean‖z‖², so ``lr = 1`` is stable on any backbone's feature scale
(random ReLU, CNN activations, MiniLM pair features differ by orders of magnitude).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from iclr.methods.diva.experiments import flip_labels
from iclr.methods.diva.tasks import FeatureTask


@dataclass(frozen=True)
class SGDSettings:
    """Mini-batch SGD of the head (``method`` config keys of the same names)."""

    epochs: int
    batch_size: int
    lr: float  # in units of 1/mean‖z‖² (see ``step_size``)
    momentum: float
    weight_decay: float

    @classmethod
    def from_config(cls, method: Any) -> SGDSettings:
        return cls(
            int(method.epochs),
            int(method.batch_size),
            float(method.lr),
            float(method.momentum),
            float(method.weight_decay),
        )


def step_size(z: Tensor, lr: float) -> float:
    """SGD step η = lr / mean_i ‖z_i‖² (scale-free across backbones)."""
    return lr / z.square().sum(1).mean().item()


def per_sample_loss(w: Tensor, z: Tensor, labels: Tensor) -> Tensor:
    """Softmax cross-entropy of the linear head ``z @ w`` for every row (no reduction)."""
    return F.cross_entropy(z @ w, labels, reduction="none")


def error_rate(w: Tensor, z: Tensor, labels: Tensor) -> float:
    """Fraction of rows whose arg-max output is not the label."""
    with torch.no_grad():
        return ((z @ w).argmax(1) != labels).double().mean().item()


def new_head(z: Tensor, num_classes: int, settings: SGDSettings) -> tuple[Tensor, Any]:
    """Zero-initialised weights (d, K) and their SGD optimiser (momentum, weight decay)."""
    w = torch.zeros(z.shape[1], num_classes, dtype=z.dtype, requires_grad=True)
    optimiser = torch.optim.SGD(
        [w],
        lr=step_size(z, settings.lr),
        momentum=settings.momentum,
        weight_decay=settings.weight_decay,
    )
    return w, optimiser


def generator(seed: int, stream: str) -> torch.Generator:
    """A seeded generator per purpose. The label flips use ``seed`` itself (as DIVA's rows), so
    every other draw of a run (batch order, validation split) gets its own offset seed: with
    one shared stream the first 20% of one permutation would be both the flipped rows and the
    held-out validation rows."""
    return torch.Generator().manual_seed(seed + STREAMS[stream])


STREAMS = {"batches": 10_000, "validation": 20_000, "validation_batches": 30_000}


def minibatches(n: int, batch_size: int, generator: torch.Generator) -> Iterator[Tensor]:
    """One epoch: a seeded permutation of ``range(n)`` cut into batches."""
    yield from torch.randperm(n, generator=generator).split(batch_size)


def centred(task: FeatureTask) -> FeatureTask:
    """The task with every feature but the bias column centred by its training-row mean.

    With the bias column this is the same linear family (wᵀ(z − μ) + b' = wᵀz + b), so DIVA's
    classifier class is unchanged; it only changes SGD's geometry. Raw ReLU / CNN features
    share a large common component, so z_iᵀz_j (the similarity through which L2RW's
    meta-gradient and every SGD step couple samples) is nearly constant, and SGD crawls along
    the ill-conditioned mean direction."""
    mean = task.z_train.mean(0)
    mean[-1] = 0.0  # keep the constant-1 column

    return replace(task, z_train=task.z_train - mean, z_test=task.z_test - mean)


def training_labels(task: FeatureTask, noise: float, seed: int) -> tuple[Tensor, Tensor]:
    """(labels, flipped): the task's training labels with ``noise`` of them flipped to another
    class, by the same seeded rule as DIVA's ``label_noise`` rows (identical flips per seed)."""
    if noise > 0:
        return flip_labels(task.labels_train, task.num_classes, noise, seed)
    return task.labels_train, torch.zeros(len(task.labels_train), dtype=torch.bool)


def weight_split(weights: Tensor, flipped: Tensor) -> dict[str, float]:
    """Mean weight of flipped and of clean samples (NaN where a group is empty): what a
    reweighting does to planted label noise."""
    nan = float("nan")
    return {
        "weight_flipped": weights[flipped].mean().item() if flipped.any() else nan,
        "weight_clean": weights[~flipped].mean().item() if (~flipped).any() else nan,
    }
