"""Full-network linearisation: DIVA with per-sample parameter Jacobians as features.

f_lin(x; w) = f(x; w0) + J(x)(w − w0), J(x) the K × P Jacobian of the K outputs at the
pre-trained weights w0 (``torch.func``: ``vmap(jacrev(functional_call))``, batched). With
one-hot targets y_i and residual targets ỹ_i = y_i − f(x_i; w0) the weighted ridge is
Δw_α = C_α Σ_i α_i J_iᵀ ỹ_i, C_α = (Σ_i α_i J_iᵀ J_i + λI)⁻¹: the ridge of ``ridge.py`` on the
NK stacked Jacobian rows, every row of sample i weighted α_i (primal P × P or dual NK × NK).

**Block leave-one-out.** Removing sample i (all its K rows) gives A_{−i} = A − α_i J_iᵀJ_i and
b_{−i} = b − α_i J_iᵀỹ_i. Let e_i = ỹ_i − J_i Δw_{−i} be its LOO residual. Then
A Δw_{−i} = b − α_i J_iᵀ(ỹ_i − J_i Δw_{−i}) = b − α_i J_iᵀ e_i, so Δw_{−i} = Δw − α_i C_α J_iᵀ e_i
and e_i = r_i + α_i J_i C_α J_iᵀ e_i with r_i = ỹ_i − J_i Δw, i.e.

    e_i = (I_K − α_i J_i C_α J_iᵀ)⁻¹ r_i,   ŷ_{−i} = y_i − e_i,

where J_i C_α J_iᵀ is the i-th K × K diagonal block of the hat matrix M = J C_α Jᵀ. With K = 1
this is r_i/(1 − h_i), the scalar formula of ``derivatives.loo_predictions``. L_LOO and L_val
are differentiated with respect to α by autograd through these closed forms.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.func import functional_call, jacrev, vmap

from iclr.methods.diva.derivatives import OutputLoss
from iclr.methods.diva.ridge import DualRidge, WeightedRidge, fit_weighted_ridge


@dataclass
class BlockFeatures:
    """Linearised features of N samples: ``jac`` (N, K, P) = J(x_i) and ``offset`` (N, K) =
    f(x_i; w0), both float64. Row-sliceable like a feature matrix."""

    jac: Tensor
    offset: Tensor

    @property
    def shape(self) -> tuple[int, int]:
        """(N, P), as a feature matrix's shape."""
        return self.jac.shape[0], self.jac.shape[2]

    @property
    def device(self) -> torch.device:
        return self.jac.device

    def __len__(self) -> int:
        return self.jac.shape[0]

    def __getitem__(self, rows: object) -> BlockFeatures:
        return BlockFeatures(self.jac[rows], self.offset[rows])


def jacobian_features(model: nn.Module, inputs: Tensor, batch: int = 256) -> BlockFeatures:
    """Per-sample Jacobians of ``model``'s outputs with respect to all its parameters at their
    current values (float64; ``vmap(jacrev(...))`` over batches, no loop over samples)."""
    model = model.eval()
    params = {name: p.detach().double() for name, p in model.named_parameters()}
    buffers = {name: b.detach().double() for name, b in model.named_buffers()}

    def output(p: dict[str, Tensor], x: Tensor) -> Tensor:
        return functional_call(model, (p, buffers), (x[None],))[0]

    per_sample = vmap(jacrev(output), in_dims=(None, 0))
    jacs, offsets = [], []
    for start in range(0, len(inputs), batch):
        x = inputs[start : start + batch].double()
        blocks = per_sample(params, x)
        jacs.append(torch.cat([blocks[name].flatten(2) for name in params], dim=2))
        offsets.append(functional_call(model, (params, buffers), (x,)))
    return BlockFeatures(torch.cat(jacs).detach(), torch.cat(offsets).detach())


@dataclass
class BlockRidge:
    """The weighted ridge of a linearised model (see the module docstring)."""

    features: BlockFeatures
    y: Tensor
    alpha: Tensor
    ridge: WeightedRidge

    @property
    def num_outputs(self) -> int:
        return self.features.jac.shape[1]

    def predict(self, other: BlockFeatures) -> Tensor:
        """f_lin(x) = f(x; w0) + J(x) Δw_α for the samples of ``other`` (N', K)."""
        return other.offset.double() + other.jac.double() @ self.ridge.weights[:, 0]

    def hat_blocks(self) -> Tensor:
        """J_i C_α J_iᵀ for every sample (N, K, K): the diagonal blocks of M."""
        n, k = len(self.features), self.num_outputs
        if isinstance(self.ridge, DualRidge):
            hat = self.ridge.hat.reshape(n, k, n, k)
            rows = torch.arange(n, device=hat.device)
            return hat[rows, :, rows, :]
        v = self.ridge.whitened.T.reshape(n, k, -1)  # rows of V = L⁻¹Jᵀ, per sample
        return v @ v.transpose(1, 2)

    def loo_residuals(self) -> Tensor:
        """e_i = (I_K − α_i J_i C_α J_iᵀ)⁻¹ r_i (N, K): y_i minus the LOO prediction."""
        k = self.num_outputs
        eye = torch.eye(k, dtype=self.y.dtype, device=self.y.device)
        system = eye - self.alpha[:, None, None] * self.hat_blocks()
        r = self.ridge.residuals.reshape(-1, k)
        return torch.linalg.solve(system, r[..., None])[..., 0]

    def loo_predictions(self) -> Tensor:
        """ŷ_{−i}: the prediction for sample i of the model retrained without it (N, K)."""
        return self.y - self.loo_residuals()


def fit_block_ridge(
    features: BlockFeatures, y: Tensor, alpha: Tensor, lam: float, form: str = "auto"
) -> BlockRidge:
    """Δw_α on residual targets ỹ = y − f(x; w0); differentiable with respect to ``alpha``."""
    jac, y = features.jac.double(), y.double()
    n, k, p = jac.shape
    ridge = fit_weighted_ridge(
        jac.reshape(n * k, p),
        (y - features.offset.double()).reshape(n * k, 1),
        alpha.double().repeat_interleave(k),
        lam,
        form,
    )
    return BlockRidge(features, y, alpha.double(), ridge)


def _differentiable_at_zero(alpha: Tensor) -> Tensor:
    """α with its zero entries moved to 1e-12 by a constant, so gradients still flow.

    The dual form depends on α through √α, whose derivative is infinite at 0 (0 · ∞ = NaN in
    autograd), although the fit itself is smooth in α; at 1e-12 the gradient is that of α = 0
    up to O(1e-12), which is what Extend needs for the pool rows (α = 0)."""
    return alpha + 1e-12 * (alpha.detach() == 0)


def block_loo_gradient(
    features: BlockFeatures, y: Tensor, alpha: Tensor, lam: float, loss: OutputLoss, form: str
) -> tuple[Tensor, Tensor]:
    """(L_LOO, ∇_α L_LOO), L_LOO = loss(ŷ_{−·}, Y) over all samples; autograd through the
    block closed form."""
    leaf = alpha.detach().double().requires_grad_(True)
    with torch.enable_grad():
        fit = fit_block_ridge(features, y, _differentiable_at_zero(leaf), lam, form)
        value = loss(fit.loo_predictions(), y.double())
        (grad,) = torch.autograd.grad(value, leaf)
    return value.detach(), grad


def block_val_gradient(
    features: BlockFeatures,
    y: Tensor,
    alpha: Tensor,
    lam: float,
    val: BlockFeatures,
    y_val: Tensor,
    loss: OutputLoss,
    form: str,
) -> tuple[Tensor, Tensor]:
    """(L_val, ∇_α L_val) of the linearised model on a validation set, by autograd."""
    leaf = alpha.detach().double().requires_grad_(True)
    with torch.enable_grad():
        fit = fit_block_ridge(features, y, _differentiable_at_zero(leaf), lam, form)
        value = loss(fit.predict(val), y_val.double())
        (grad,) = torch.autograd.grad(value, leaf)
    return value.detach(), grad
