"""CDANN (conditional DANN, Long et al., 2018 / Zhao et al.) as in GRDA's baselines: the domain
classifier also sees the predictor's output (sigmoid of F's output, detached, as the official
code), so alignment is class-conditional."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from iclr.methods.grda.dann import DomainClassifier
from iclr.methods.grda.networks import discriminator_trunk
from iclr.methods.grda.training import train_and_evaluate


class ConditionalDomainClassifier(DomainClassifier):
    """D-way domain classifier on [e, σ(F(e))]."""

    def __init__(self, hidden: int, outputs: int, num_domains: int) -> None:
        super().__init__(hidden, num_domains)
        self.net = discriminator_trunk(hidden + outputs, hidden, num_domains)

    def logits(self, e: Tensor, out: Tensor) -> Tensor:
        return self.net(torch.cat([e, torch.sigmoid(out.detach())], dim=-1))


def make(method: Any, hidden: int, outputs: int, classification: bool, num_domains: int):
    return ConditionalDomainClassifier(hidden, outputs, num_domains)


def run(cfg: Any, out_dir: Path, device: torch.device) -> dict[str, float]:
    """Method ``cdann``."""
    return train_and_evaluate(cfg, out_dir, device, make)
