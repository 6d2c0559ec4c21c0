"""Metric functions shared by methods."""

from __future__ import annotations

import torch


def accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of rows whose arg-max equals the label (0.0 for an empty set)."""
    if labels.numel() == 0:
        return 0.0
    return (logits.argmax(dim=-1) == labels).float().mean().item()
