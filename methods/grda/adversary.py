"""What every adaptation method plugs into the shared training loop: an adversary.

Per step the loop computes e = E(x, z) and out = F(e) for B samples of every domain (shapes
(D, B, ·)); the adversary is updated to minimise ``loss(e.detach(), out.detach())`` with its own
optimiser, then E/F minimise the task loss + λ·``encoder_loss(e, out)``. The default encoder
loss is −loss (the minimax of DANN/CDANN/MDD/GRDA); ADDA overrides it (inverted labels).
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import torch
from torch import Tensor, nn

from iclr.methods.grda.batches import DomainTensors


class Adversary(nn.Module):
    """Base class: a discriminator-like module with a loss it minimises."""

    def begin_step(self, rng: np.random.Generator, data: DomainTensors) -> None:
        """Draw whatever the step needs (GRDA: the sub-graph); default nothing."""

    def loss(self, e: Tensor, out: Tensor, data: DomainTensors) -> Tensor:
        raise NotImplementedError

    def encoder_loss(self, e: Tensor, out: Tensor, data: DomainTensors) -> Tensor:
        return -self.loss(e, out, data)


class AdversaryFactory(Protocol):
    def __call__(
        self, method: Any, hidden: int, outputs: int, classification: bool, num_domains: int
    ) -> Adversary: ...


def domain_labels(e: Tensor) -> Tensor:
    """(D, B) domain index of every sample of a (D, B, ·) batch."""
    return torch.arange(e.shape[0], device=e.device)[:, None].expand(e.shape[:2])
