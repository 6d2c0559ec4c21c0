"""Evaluation on every domain in one forward pass: per-domain accuracy or MSE, target means and
per-level means (level = graph distance from the sources; the last level pools all farther)."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from iclr.methods.grda.batches import DomainTensors
from iclr.methods.grda.datasets.domain_graph import DomainGraphData


def per_domain_scores(out: Tensor, y: Tensor, domain: Tensor, num_domains: int) -> np.ndarray:
    """Accuracy (classification: ``out`` are log-probabilities) or MSE per domain."""
    classification = y.dtype == torch.int64
    score = (out.argmax(-1) == y).float() if classification else (out - y).pow(2).mean(-1)
    total = torch.zeros(num_domains, device=out.device).index_add_(0, domain, score)
    count = torch.bincount(domain, minlength=num_domains).clamp_min(1)
    return (total / count).cpu().numpy()


def summarise(scores: np.ndarray, data: DomainGraphData, max_level: int) -> dict[str, float]:
    """Target/source means of per-domain scores, and target means per level (1..max_level,
    where ``max_level`` pools every farther domain, as the paper's "Level-3")."""
    name = "acc" if data.task == "classification" else "mse"
    targets = np.asarray(data.targets)
    metrics = {
        f"target_{name}": float(scores[targets].mean()),
        f"source_{name}": float(scores[data.sources].mean()),
        f"all_{name}": float(scores.mean()),
    }
    levels = np.minimum(data.levels[targets], max_level)
    for level in range(1, max_level + 1):
        chosen = targets[levels == level]
        if chosen.size:
            metrics[f"target_{name}_level{level}"] = float(scores[chosen].mean())
    return metrics


@torch.no_grad()
def evaluate(predict, tensors: DomainTensors) -> np.ndarray:
    """Per-domain scores of ``predict(x, domain) -> out`` on all samples at once."""
    return per_domain_scores(
        predict(tensors.x, tensors.domain), tensors.y, tensors.domain, tensors.num_domains
    )
