"""DIVA's procedures (Sec. 3.4): Reweight, Extend, detrimental-sample detection and
augmentation tuning, all driven by the closed-form dataset derivative."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from iclr.methods.diva.derivatives import loo_gradient, output_loss, val_gradient
from iclr.methods.diva.linearised import (
    BlockFeatures,
    block_loo_gradient,
    block_val_gradient,
    fit_block_ridge,
)
from iclr.methods.diva.ridge import fit_weighted_ridge

Features = Tensor | BlockFeatures


@dataclass(frozen=True)
class Objective:
    """What the derivative is taken of: ``loo`` (no validation set) or ``val`` (needs one),
    with the output loss ℓ, ridge λ and the solver form. Features are a matrix Z (last-layer
    linearisation) or ``BlockFeatures`` (full linearisation, K × P Jacobian per sample)."""

    kind: str = "loo"
    loss: str = "squared"
    lam: float = 1.0
    form: str = "auto"
    z_val: Features | None = None
    y_val: Tensor | None = None

    def gradient(self, z: Features, y: Tensor, alpha: Tensor) -> tuple[float, Tensor]:
        """(L(α), ∇_α L) at the sample weights ``alpha``."""
        loss = output_loss(self.loss)
        if isinstance(z, BlockFeatures):
            return self._block_gradient(z, y, alpha, loss)
        ridge = fit_weighted_ridge(z, y, alpha, self.lam, self.form)
        if self.kind == "loo":
            value, grad = loo_gradient(ridge, loss)
        else:  # "val" (method.objective's options are checked before a job runs)
            if self.z_val is None or self.y_val is None:
                raise ValueError("objective 'val' needs a validation set (z_val, y_val)")
            value, grad = val_gradient(ridge, self.z_val, self.y_val, loss)
        return float(value), grad

    def _block_gradient(
        self, z: BlockFeatures, y: Tensor, alpha: Tensor, loss: Any
    ) -> tuple[float, Tensor]:
        if self.kind == "loo":
            value, grad = block_loo_gradient(z, y, alpha, self.lam, loss, self.form)
        else:  # "val"
            if not isinstance(self.z_val, BlockFeatures) or self.y_val is None:
                raise ValueError("objective 'val' needs a linearised validation set")
            value, grad = block_val_gradient(
                z, y, alpha, self.lam, self.z_val, self.y_val, loss, self.form
            )
        return float(value), grad


def error_rate(
    z: Features, y: Tensor, alpha: Tensor, lam: float, z_test: Features, labels: Tensor
) -> float:
    """Test error of the ridge classifier trained with weights α (arg-max of the outputs)."""
    if isinstance(z, BlockFeatures):
        outputs = fit_block_ridge(z, y, alpha, lam).predict(z_test)
    else:
        outputs = fit_weighted_ridge(z, y, alpha, lam).predict(z_test)
    return (outputs.argmax(1) != labels).double().mean().item()


def gradient_step(alpha: Tensor, grad: Tensor, lr: float, normalise: str) -> Tensor:
    """α ← max(α − η ∇, 0). ``normalise=max`` divides ∇ by max|∇| first, so that η is the
    largest change of any weight (the paper's η ≈ 0.1 has no stated gradient scale)."""
    if normalise == "max":  # else "none" (method.reweight.normalise's options)
        grad = grad / grad.abs().max().clamp_min(torch.finfo(grad.dtype).tiny)
    return (alpha - lr * grad).clamp_min(0)


def reweight(
    z: Tensor, y: Tensor, objective: Objective, steps: int, lr: float, normalise: str = "max"
) -> tuple[list[Tensor], list[float]]:
    """DIVA Reweight from α = 1: the weights after 0, 1, …, ``steps`` gradient steps, and the
    objective's value at each."""
    alpha = torch.ones(z.shape[0], dtype=torch.float64, device=z.device)
    alphas, values = [alpha], []
    for _ in range(steps):
        value, grad = objective.gradient(z, y, alpha)
        alpha = gradient_step(alpha, grad, lr, normalise)
        alphas.append(alpha)
        values.append(value)
    values.append(objective.gradient(z, y, alpha)[0])
    return alphas, values


def extend(
    z: Tensor, y: Tensor, in_pool: Tensor, objective: Objective, per_round: int, max_rounds: int
) -> list[Tensor]:
    """DIVA Extend: the core set (``~in_pool``) starts at α = 1 and the pool at α = 0; each
    round adds (α = 1) the ``per_round`` pool samples with the most negative derivative, until
    no remaining pool sample has a negative one (or ``max_rounds``). Returns the pool indices
    added in each round, in order."""
    alpha = (~in_pool).double()
    remaining = in_pool.clone()
    rounds: list[Tensor] = []
    for _ in range(max_rounds):
        _, grad = objective.gradient(z, y, alpha)
        candidates = remaining & (grad < 0)
        if not candidates.any():
            break
        scores = torch.where(candidates, grad, torch.inf)
        k = min(per_round, int(candidates.sum()))
        chosen = scores.topk(k, largest=False).indices
        alpha[chosen] = 1.0
        remaining[chosen] = False
        rounds.append(chosen)
    return rounds


def flag_detrimental(grad: Tensor, eps: float = 0.0) -> Tensor:
    """Samples whose derivative is ≥ ε: increasing their weight would increase the loss."""
    return grad >= eps


def augmentation_probabilities(
    alpha: Tensor, transform_of: Tensor, names: list[str]
) -> dict[str, float]:
    """p_k = Σ_{i ∈ D^{t_k}} α_i / Σ_i α_i for every transformation k (``transform_of[i]`` is the
    index in ``names`` of the transformation that made sample i; 0 is the identity)."""
    total = alpha.sum()
    return {name: (alpha[transform_of == k].sum() / total).item() for k, name in enumerate(names)}
