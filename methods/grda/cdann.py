"""CDANN (conditional DANN, Long et al., 2018 / Zhao et al.) as in GRDA's baselines: the domain
classifier also sees the predictor's output (sigmoid of F's output, detached, as the official
code) through a branch of its own joined after D's first layer, so alignment is
class-conditional."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from iclr.methods.grda.dann import DomainClassifier
from iclr.methods.grda.networks import mlp
from iclr.methods.grda.training import train_and_evaluate


class ConditionalDomainClassifier(DomainClassifier):
    """D-way domain classifier conditioned on σ(F's output), as the official CondClassDiscNet:
    e → Linear h + ReLU; σ(out) → Linear h + ReLU → Linear h + ReLU; the two joined, then
    4 × (Linear h + ReLU) → Linear → D logits."""

    needs_predictions = True

    def __init__(self, hidden: int, outputs: int, num_domains: int) -> None:
        super().__init__(hidden, num_domains)
        self.first = mlp([hidden, hidden], final_activation=True)
        self.condition = mlp([outputs, hidden, hidden], final_activation=True)
        self.net = mlp([2 * hidden] + [hidden] * 4 + [num_domains])

    def logits(self, e: Tensor, out: Tensor) -> Tensor:
        condition = self.condition(torch.sigmoid(out.detach()))
        return self.net(torch.cat([self.first(e), condition], dim=-1))


def make(method: Any, hidden: int, outputs: int, classification: bool, num_domains: int):
    return ConditionalDomainClassifier(hidden, outputs, num_domains)


def run(cfg: Any, out_dir: Path, device: torch.device) -> dict[str, float]:
    """Method ``cdann``."""
    return train_and_evaluate(cfg, out_dir, device, make)
