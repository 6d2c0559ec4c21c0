"""ADDA (Tzeng et al., 2017) as in GRDA's baselines: one joint stage, a source-vs-target
discriminator, and an encoder trained with inverted labels (targets made to look like sources)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from iclr.methods.grda.adversary import Adversary
from iclr.methods.grda.batches import DomainTensors
from iclr.methods.grda.networks import discriminator_trunk
from iclr.methods.grda.training import train_and_evaluate

EPS = 1e-10


class SourceTargetDiscriminator(Adversary):
    """P(source | e)."""

    minimax = False  # the encoder's loss inverts the labels instead of negating D's loss

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.net = discriminator_trunk(hidden, hidden, 1)

    def prob(self, e: Tensor) -> Tensor:
        return torch.sigmoid(self.net(e)).squeeze(-1)

    def loss(self, e: Tensor, out: Tensor, data: DomainTensors) -> Tensor:
        p = self.prob(e)
        return (
            -torch.log(p[data.is_source] + EPS).mean()
            - torch.log(1 - p[~data.is_source] + EPS).mean()
        )

    def encoder_loss(self, e: Tensor, out: Tensor, data: DomainTensors) -> Tensor:
        return -torch.log(self.prob(e)[~data.is_source] + EPS).mean()


def make(method: Any, hidden: int, outputs: int, classification: bool, num_domains: int):
    return SourceTargetDiscriminator(hidden)


def run(cfg: Any, out_dir: Path, device: torch.device) -> dict[str, float]:
    """Method ``adda``."""
    return train_and_evaluate(cfg, out_dir, device, make)
