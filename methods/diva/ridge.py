"""Weighted ridge regression in closed form, with the hat-matrix products DIVA's derivatives need.

w_α = C_α Zᵀ D_α Y with C_α = (Zᵀ D_α Z + λI)⁻¹ (rows of Z are samples). Derivatives are written
with the (unweighted) hat matrix M = Z C_α Zᵀ, whose entries M_ij = z_iᵀ C_α z_j appear in every
formula. M is never formed when N ≥ d (the primal form works with d × d Cholesky factors and
N × d products); when d > N (e.g. a full linearisation) the dual form builds the N × N matrix
through the Woodbury identity. Everything is float64 and uses Cholesky solves, never an inverse.
"""

from __future__ import annotations

from functools import cached_property

import torch
from torch import Tensor


class WeightedRidge:
    """Interface shared by the primal and dual fits (see ``fit_weighted_ridge``)."""

    z: Tensor
    y: Tensor
    alpha: Tensor
    lam: float
    weights: Tensor  # (d, K)

    def predict(self, z_other: Tensor) -> Tensor:
        """Outputs w_αᵀ z for the rows of ``z_other``."""
        return z_other.to(self.weights.dtype) @ self.weights

    @cached_property
    def residuals(self) -> Tensor:
        """R = Y − Z w_α on the training rows (N, K)."""
        return self.y - self.z @ self.weights

    def hat_times(self, x: Tensor) -> Tensor:
        """M X for X of shape (N, K)."""
        raise NotImplementedError

    def hat_diag(self) -> Tensor:
        """diag(M): z_iᵀ C_α z_i for every training row."""
        raise NotImplementedError

    def hat_squared_times(self, v: Tensor) -> Tensor:
        """(M ⊙ M) v: Σ_j M_ij² v_j."""
        raise NotImplementedError

    def cross_times(self, z_other: Tensor, g: Tensor) -> Tensor:
        """Z C_α Z_otherᵀ G (N, K): couples training rows to other rows (e.g. validation)."""
        raise NotImplementedError


class PrimalRidge(WeightedRidge):
    """d × d form: A = Zᵀ D_α Z + λI, factored once by Cholesky."""

    def __init__(self, z: Tensor, y: Tensor, alpha: Tensor, lam: float) -> None:
        self.z, self.y, self.alpha, self.lam = z, y, alpha, lam
        eye = torch.eye(z.shape[1], dtype=z.dtype, device=z.device)
        gram = z.T @ (alpha[:, None] * z) + lam * eye
        self.factor = torch.linalg.cholesky(gram)
        self.weights = torch.cholesky_solve(z.T @ (alpha[:, None] * y), self.factor)

    @cached_property
    def whitened(self) -> Tensor:
        """V = L⁻¹ Zᵀ (d, N) with A = L Lᵀ, so that M = Vᵀ V: one triangular solve."""
        return torch.linalg.solve_triangular(self.factor, self.z.T, upper=False)

    def hat_times(self, x: Tensor) -> Tensor:
        return self.whitened.T @ (self.whitened @ x)

    def hat_diag(self) -> Tensor:
        return self.whitened.square().sum(0)

    def hat_squared_times(self, v: Tensor) -> Tensor:
        # M_ij = v_i · v_j (columns of V), so Σ_j v_j M_ij² = v_iᵀ (V diag(v) Vᵀ) v_i.
        v_cols = self.whitened
        weighted_gram = v_cols @ (v[:, None] * v_cols.T)
        return ((weighted_gram @ v_cols) * v_cols).sum(0)

    def cross_times(self, z_other: Tensor, g: Tensor) -> Tensor:
        other = z_other.to(self.z.dtype).T @ g
        return self.whitened.T @ torch.linalg.solve_triangular(self.factor, other, upper=False)


class DualRidge(WeightedRidge):
    """N × N form for d > N: with S = D_α^½, K = Z Zᵀ and P = S K S + λI (Woodbury),
    C_α = (I − Zᵀ S P⁻¹ S Z)/λ, so M = (K − K S P⁻¹ S K)/λ and w_α = Zᵀ S P⁻¹ S Y."""

    def __init__(self, z: Tensor, y: Tensor, alpha: Tensor, lam: float) -> None:
        self.z, self.y, self.alpha, self.lam = z, y, alpha, lam
        self.kernel = z @ z.T
        self.sqrt_alpha = alpha.clamp_min(0).sqrt()
        s = self.sqrt_alpha
        eye = torch.eye(z.shape[0], dtype=z.dtype, device=z.device)
        self.factor = torch.linalg.cholesky(s[:, None] * self.kernel * s[None, :] + lam * eye)
        self.weights = z.T @ (s[:, None] * torch.cholesky_solve(s[:, None] * y, self.factor))

    def _woodbury(self, kx: Tensor) -> Tensor:
        """(KX − K S P⁻¹ S K X)/λ given KX."""
        s = self.sqrt_alpha[:, None]
        return (kx - self.kernel @ (s * torch.cholesky_solve(s * kx, self.factor))) / self.lam

    @cached_property
    def hat(self) -> Tensor:
        """M (N, N), formed explicitly (N < d here)."""
        return self._woodbury(self.kernel)

    def hat_times(self, x: Tensor) -> Tensor:
        return self.hat @ x

    def hat_diag(self) -> Tensor:
        return self.hat.diagonal()

    def hat_squared_times(self, v: Tensor) -> Tensor:
        return self.hat.square() @ v

    def cross_times(self, z_other: Tensor, g: Tensor) -> Tensor:
        return self._woodbury(self.z @ (z_other.to(self.z.dtype).T @ g))


def fit_weighted_ridge(
    z: Tensor, y: Tensor, alpha: Tensor, lam: float, form: str = "auto"
) -> WeightedRidge:
    """Fit w_α in float64; ``form`` is ``primal`` (d × d), ``dual`` (N × N) or ``auto``
    (the smaller one). ``lam`` must be positive: it makes both systems positive definite."""
    if lam <= 0:
        raise ValueError(f"ridge λ must be positive, got {lam}")
    if (alpha < 0).any():
        raise ValueError("sample weights α must be non-negative")
    z, y, alpha = z.double(), y.double(), alpha.double()
    if form == "auto":
        form = "dual" if z.shape[1] > z.shape[0] else "primal"
    return {"primal": PrimalRidge, "dual": DualRidge}[form](z, y, alpha, lam)
