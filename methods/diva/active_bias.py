"""Active Bias (Chang, Learned-Miller & McCallum, NeurIPS 2017), a DIVA Table 1 baseline.

Mini-batch SGD whose per-sample losses are weighted by the uncertainty of the sample, estimated
from its *prediction history* H_i: the probabilities p(y_i | x_i) the model gave its (possibly
noisy) label at every earlier visit (one per epoch). Two estimates (the paper's SGD-W* rules):

- ``threshold_closeness`` (SGD-WTC, the variant DIVA's Table 1 cites):
  w_i ∝ p̄_i (1 − p̄_i) + ε, with p̄_i the mean of H_i;
- ``prediction_variance`` (SGD-WPV): w_i ∝ std^conf_i + ε,
  std^conf_i = sqrt(var(H_i) + var(H_i)² / (|H_i| − 1)) (the variance plus the spread of its
  estimate: the upper end of its confidence interval under a Gaussian assumption).

Weights are normalised to mean 1 within each mini-batch, and are uniform during the first
``warmup`` (burn-in) epochs, while the history fills. The head is linear on DIVA's frozen
features (``linear_head``); each run also trains the same head with uniform weights (same
seed, same batches) as the control its gain is measured against.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from iclr.cli.errors import UserError
from iclr.methods.common.history import History
from iclr.methods.diva.linear_head import (
    SGDSettings,
    centred,
    error_rate,
    generator,
    minibatches,
    new_head,
    per_sample_loss,
    training_labels,
    weight_split,
)
from iclr.methods.diva.tasks import FeatureTask, load_task


def threshold_closeness(history: Tensor, eps: float) -> Tensor:
    """p̄(1 − p̄) + ε per sample, for a history of shape (visits, N)."""
    mean = history.mean(0)
    return mean * (1 - mean) + eps


def prediction_variance(history: Tensor, eps: float) -> Tensor:
    """sqrt(var + var²/(|H| − 1)) + ε per sample (population variance of the history, as the
    public SGD-WPV implementation computes it); needs at least two visits."""
    var = history.var(0, correction=0)
    return (var + var.square() / (history.shape[0] - 1)).sqrt() + eps


SCORES: dict[str, Callable[[Tensor, float], Tensor]] = {
    "threshold_closeness": threshold_closeness,
    "prediction_variance": prediction_variance,
}


def batch_weights(scores: Tensor) -> Tensor:
    """A mini-batch's unnormalised scores rescaled to mean 1 (the weighted loss stays an
    average, so the step size means the same as without weights)."""
    return scores * (len(scores) / scores.sum())


def train(
    task: FeatureTask,
    labels: Tensor,
    settings: SGDSettings,
    weighting: str | None,
    eps: float,
    warmup: int,
    seed: int,
    log: Callable[..., None] | None = None,
) -> tuple[Tensor, Tensor]:
    """Train the linear head; ``weighting=None`` is the uniform-weight control. Returns the
    weights (d, K) and the last epoch's per-sample loss weights (before batch normalisation)."""
    z = task.z_train
    rng = generator(seed, "batches")
    w, optimiser = new_head(z, task.num_classes, settings)
    history = torch.empty(settings.epochs, len(labels), dtype=z.dtype)
    scores = torch.ones(len(labels), dtype=z.dtype)
    for epoch in range(settings.epochs):
        # Each sample is visited once per epoch, so at its visit in epoch e its history is
        # exactly the rows 0..e−1: scoring every sample once per epoch is the per-visit rule.
        if weighting is not None and epoch >= warmup:
            scores = SCORES[weighting](history[:epoch], eps)
        total = 0.0
        for rows in minibatches(len(labels), settings.batch_size, rng):
            losses = per_sample_loss(w, z[rows], labels[rows])
            with torch.no_grad():
                history[epoch, rows] = (-losses).exp()  # p(y_i | x_i) = exp(−CE)
            loss = (batch_weights(scores[rows]) * losses).mean()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += loss.item() * len(rows)
        if log is not None:
            log(
                **{
                    "epoch": epoch,
                    "train_loss": total / len(labels),
                    "test_error": error_rate(w, task.z_test, task.labels_test),
                    "weight_cv": (scores.std() / scores.mean()).item(),
                }
            )
    return w.detach(), scores


def run(cfg: Any, out_dir: Path, device: torch.device) -> dict[str, float]:
    """Active Bias on ``cfg.dataset``'s frozen features; metrics are fractions."""
    method = cfg.method
    settings = SGDSettings.from_config(method)
    warmup = int(method.warmup)
    if method.weighting == "prediction_variance" and warmup < 2:
        raise UserError("method.warmup must be ≥ 2 for prediction_variance (a variance needs 2)")
    task = centred(load_task(cfg, device))
    seed = int(cfg.seed)
    labels, flipped = training_labels(task, float(method.label_noise), seed)
    with History(out_dir / "history.csv") as history:
        w, scores = train(
            task,
            labels,
            settings,
            method.weighting,
            float(method.eps),
            warmup,
            seed,
            history.write,
        )
    w_uniform, _ = train(task, labels, settings, None, 0.0, warmup, seed)
    weighted = error_rate(w, task.z_test, task.labels_test)
    uniform = error_rate(w_uniform, task.z_test, task.labels_test)
    return {
        "test_error": weighted,
        "test_error_uniform": uniform,
        "gain": uniform - weighted,
        **weight_split(scores / scores.mean(), flipped),
        "n_train": float(len(labels)),
        "feature_dim": float(task.z_train.shape[1]),
    }
