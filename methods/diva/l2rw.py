"""Learning to reweight examples (Ren, Zeng, Yang & Urtasun, ICML 2018), a DIVA Table 1 baseline.

At every SGD step (the paper's Algorithm 1), with per-sample perturbations ε on a training
mini-batch:
1. look ahead one plain SGD step on the ε-weighted loss: θ̂(ε) = θ − η ∇_θ Σ_i ε_i ℓ_i(θ);
2. take the meta-gradient of the mean loss of a *validation* mini-batch at θ̂, at ε = 0;
3. w̃_i = max(−∂L_val/∂ε_i, 0), w = w̃ / Σ w̃ (all zero when Σ w̃ = 0);
4. update θ (momentum SGD) on Σ_i w_i ℓ_i(θ).
Step 2 is one ``torch.func.grad`` through the look-ahead (itself a ``torch.func.grad``), for
the whole mini-batch at once.

DIVA's Table 1 holds out 20% of the training set as L2RW's validation set (``val_fraction``).
``train_on``: ``rest`` trains on the remaining 80% (the table's first number); ``all`` trains on
every training row while the 20% still serve as the validation set (our reading of the table's
bracketed "all samples used for the final training"). The validation rows carry the training
set's labels (``val_labels: train``; with label noise they are as noisy as the rest: DIVA has no
trusted data) or the true ones (``clean``, L2RW's own assumption of a small clean meta set).
The head is linear on DIVA's frozen features (``linear_head``); each run also trains the same
head with uniform weights on the same rows (the control its gain is measured against).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from torch.func import grad

from iclr.methods.common.history import History
from iclr.methods.diva.linear_head import (
    SGDSettings,
    centred,
    error_rate,
    generator,
    minibatches,
    new_head,
    per_sample_loss,
    step_size,
    training_labels,
    weight_split,
)
from iclr.methods.diva.tasks import FeatureTask, load_task


def meta_weights(
    w: Tensor, z: Tensor, labels: Tensor, z_val: Tensor, labels_val: Tensor, inner_lr: float
) -> Tensor:
    """L2RW's example weights for one training mini-batch (steps 1–3 above), shape (B,)."""

    def val_loss(eps: Tensor) -> Tensor:
        inner = grad(lambda v: (eps * per_sample_loss(v, z, labels)).sum())(w)
        return per_sample_loss(w - inner_lr * inner, z_val, labels_val).mean()

    eps = torch.zeros(len(labels), dtype=z.dtype)
    raw = (-grad(val_loss)(eps)).clamp_min(0)
    total = raw.sum()
    return raw / total if total > 0 else raw


def split_validation(n: int, fraction: float, seed: int) -> tuple[Tensor, Tensor]:
    """(train rows, validation rows): a seeded ``fraction`` of ``range(n)`` held out."""
    order = torch.randperm(n, generator=generator(seed, "validation"))
    n_val = round(fraction * n)
    return order[n_val:], order[:n_val]


def train(
    task: FeatureTask,
    rows: Tensor,
    labels: Tensor,
    val: tuple[Tensor, Tensor] | None,
    settings: SGDSettings,
    seed: int,
    log: Callable[..., None] | None = None,
) -> tuple[Tensor, Tensor]:
    """Train the head on training ``rows`` with ``labels`` (one per row of the task); ``val``
    = (validation features, labels) for L2RW, ``None`` for the uniform-weight control. Returns
    the weights (d, K) and every row's mean L2RW weight over the last epoch, × batch size (1 =
    the uniform weight; all ones for the control)."""
    z, y = task.z_train[rows], labels[rows]
    # the batch order does not depend on the validation draws: the control sees the same batches
    rng, val_rng = generator(seed, "batches"), generator(seed, "validation_batches")
    w, optimiser = new_head(z, task.num_classes, settings)
    inner_lr = step_size(z, settings.lr)
    last = torch.ones(len(rows), dtype=z.dtype)
    for epoch in range(settings.epochs):
        total = 0.0
        for batch in minibatches(len(rows), settings.batch_size, rng):
            losses = per_sample_loss(w, z[batch], y[batch])
            if val is None:
                weights = torch.full((len(batch),), 1 / len(batch), dtype=z.dtype)
            else:
                # a fresh validation mini-batch of the same size each step, as in the paper
                pick = torch.randperm(len(val[1]), generator=val_rng)[: settings.batch_size]
                weights = meta_weights(
                    w.detach(), z[batch], y[batch], val[0][pick], val[1][pick], inner_lr
                )
                last[batch] = weights * len(batch)
            loss = (weights * losses).sum()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += losses.detach().sum().item()
        if log is not None:
            log(
                **{
                    "epoch": epoch,
                    "train_loss": total / len(rows),
                    "test_error": error_rate(w, task.z_test, task.labels_test),
                    "zero_weight_fraction": (last == 0).double().mean().item(),
                }
            )
    return w.detach(), last


def run(cfg: Any, out_dir: Path, device: torch.device) -> dict[str, float]:
    """L2RW on ``cfg.dataset``'s frozen features; metrics are fractions."""
    method = cfg.method
    settings = SGDSettings.from_config(method)
    task = centred(load_task(cfg, device))
    seed = int(cfg.seed)
    labels, flipped = training_labels(task, float(method.label_noise), seed)
    rest, val_rows = split_validation(len(labels), float(method.val_fraction), seed)
    val_targets = task.labels_train if method.val_labels == "clean" else labels
    val = (task.z_train[val_rows], val_targets[val_rows])
    rows = {"rest": rest, "all": torch.arange(len(labels))}[method.train_on]
    with History(out_dir / "history.csv") as history:
        w, weights = train(task, rows, labels, val, settings, seed, history.write)
    w_uniform, _ = train(task, rows, labels, None, settings, seed)
    weighted = error_rate(w, task.z_test, task.labels_test)
    uniform = error_rate(w_uniform, task.z_test, task.labels_test)
    return {
        "test_error": weighted,
        "test_error_uniform": uniform,
        "gain": uniform - weighted,
        **weight_split(weights, flipped[rows]),
        **{f"zero_{k}": v for k, v in weight_split((weights == 0).double(), flipped[rows]).items()},
        "n_train": float(len(rows)),
        "n_val": float(len(val_rows)),
        "feature_dim": float(task.z_train.shape[1]),
    }
