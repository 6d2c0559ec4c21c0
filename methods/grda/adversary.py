"""What every adaptation method plugs into the shared training loop: an adversary.

Per step the loop computes e = E(x, z) and out = F(e) for B samples of the domains the step
needs (shapes (V, B, ·)). ``begin_step`` says which domains the adversary reads (GRDA: its
sub-graph; default all, in index order); the loop hands it e/out of exactly those domains.
The adversary minimises ``loss``; E/F minimise the task loss + λ·``encoder_loss``. The default
encoder loss is −loss (the minimax of DANN/CDANN/MDD/GRDA, ``minimax = True``); ADDA overrides
it (inverted labels). ``full_loss`` scores the adversary on every domain at once (diagnostics).
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import torch
from torch import Tensor, nn

from iclr.methods.grda.batches import DomainTensors


class Adversary(nn.Module):
    """Base class: a discriminator-like module with a loss it minimises."""

    minimax = True  # encoder_loss is −loss, so one backward with a reversed gradient suffices
    needs_predictions = False  # loss reads F's output (CDANN, MDD): F then runs on every domain

    def begin_step(self, rng: np.random.Generator, data: DomainTensors) -> np.ndarray | None:
        """Draw whatever the step needs; return the domains the loss reads (None: all)."""
        return None

    def loss(self, e: Tensor, out: Tensor | None, data: DomainTensors) -> Tensor:
        raise NotImplementedError

    def encoder_loss(self, e: Tensor, out: Tensor | None, data: DomainTensors) -> Tensor:
        return -self.loss(e, out, data)

    def full_loss(self, e: Tensor, out: Tensor, data: DomainTensors) -> Tensor:
        """The loss on (D, N, ·) encodings of every domain (default: ``loss`` itself)."""
        return self.loss(e, out, data)


class AdversaryFactory(Protocol):
    def __call__(
        self, method: Any, hidden: int, outputs: int, classification: bool, num_domains: int
    ) -> Adversary: ...


def domain_labels(e: Tensor) -> Tensor:
    """(D, B) domain index of every sample of a (D, B, ·) batch."""
    return torch.arange(e.shape[0], device=e.device)[:, None].expand(e.shape[:2])


class _ScaleGradient(torch.autograd.Function):
    """Identity forward; the backward multiplies the gradient by ``scale``."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, scale: float) -> Tensor:
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        return grad * ctx.scale, None


def scale_gradient(x: Tensor, scale: float) -> Tensor:
    """``x`` with its gradient scaled by ``scale`` (−λ: DANN's gradient-reversal layer)."""
    return _ScaleGradient.apply(x, scale)
