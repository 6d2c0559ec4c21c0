"""DANN (Ganin et al., 2016) as in GRDA's baselines: a discriminator classifies which of the
D domains each encoding comes from; the encoder maximises its loss."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from iclr.methods.grda.adversary import Adversary, domain_labels
from iclr.methods.grda.batches import DomainTensors
from iclr.methods.grda.networks import discriminator_trunk
from iclr.methods.grda.training import train_and_evaluate


class DomainClassifier(Adversary):
    """D-way domain classifier on the encoding e."""

    def __init__(self, hidden: int, num_domains: int) -> None:
        super().__init__()
        self.net = discriminator_trunk(hidden, hidden, num_domains)

    def logits(self, e: Tensor, out: Tensor) -> Tensor:
        return self.net(e)

    def loss(self, e: Tensor, out: Tensor, data: DomainTensors) -> Tensor:
        logits = self.logits(e, out)
        return F.cross_entropy(logits.flatten(0, 1), domain_labels(e).flatten())


def make(method: Any, hidden: int, outputs: int, classification: bool, num_domains: int):
    return DomainClassifier(hidden, num_domains)


def run(cfg: Any, out_dir: Path, device: torch.device) -> dict[str, float]:
    """Method ``dann``."""
    return train_and_evaluate(cfg, out_dir, device, make)
