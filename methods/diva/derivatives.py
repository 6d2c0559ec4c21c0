"""The dataset derivative: gradients of a validation loss and of the leave-one-out loss with
respect to the per-sample weights α, in closed form (Props. 1–3 of the paper).

Notation (``ridge``): M = Z C_α Zᵀ, R = Y − Z w_α (rows r_i), leverage h_i = α_i M_ii.
- Prop. 1: ∂w_α/∂α_i = C_α z_i r_iᵀ, so an output f = w_αᵀ z moves by (z_iᵀ C_α z) r_i.
- Prop. 2: ∂L_val/∂α_i = Σ_j (z_iᵀ C_α z_j)(g_jᵀ r_i), g_j = ∂L_val/∂f_j.
- Prop. 3: ŷ_{−i} = (ŷ_i − h_i y_i)/(1 − h_i), i.e. y_i − ŷ_{−i} = r_i/(1 − h_i).
  Differentiating L_LOO = Σ_j ℓ(ŷ_{−j}, y_j) with g_j = ∂L/∂ŷ_{−j}, s_j = 1/(1 − h_j) and
  ∂h_j/∂α_i = δ_ij M_jj − α_j M_ij² gives
  ∂L_LOO/∂α_i = r_iᵀ [M (s ⊙ G)]_i − s_i² M_ii g_iᵀ r_i + Σ_j M_ij² α_j s_j² g_jᵀ r_j,
  three hat-matrix products (``loo_gradient``); tests check it against autograd through
  ``loo_predictions`` and against finite differences.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from iclr.methods.diva.ridge import WeightedRidge

OutputLoss = Callable[[Tensor, Tensor], Tensor]


def squared_loss(outputs: Tensor, targets: Tensor) -> Tensor:
    """Mean over samples of ‖f − y‖² on one-hot targets (the training loss, as in LQF)."""
    return (outputs - targets).square().sum(1).mean()


def cross_entropy_loss(outputs: Tensor, targets: Tensor) -> Tensor:
    """Mean softmax cross-entropy of the outputs against the one-hot targets' classes."""
    return F.cross_entropy(outputs, targets.argmax(1))


OUTPUT_LOSSES: dict[str, OutputLoss] = {
    "squared": squared_loss,
    "cross_entropy": cross_entropy_loss,
}


def output_loss(name: str) -> OutputLoss:
    """The loss ℓ on model outputs by name (``squared`` or ``cross_entropy``)."""
    return OUTPUT_LOSSES[name]  # method.loss's options are checked before a job runs


def _loss_and_output_grad(
    loss: OutputLoss, outputs: Tensor, targets: Tensor
) -> tuple[Tensor, Tensor]:
    """(L, ∂L/∂outputs) for fixed outputs."""
    leaf = outputs.detach().requires_grad_(True)
    with torch.enable_grad():
        value = loss(leaf, targets)
        (grad,) = torch.autograd.grad(value, leaf)
    return value.detach(), grad


def leverages(ridge: WeightedRidge) -> Tensor:
    """h_i = α_i z_iᵀ C_α z_i (each in [0, 1) since λ > 0)."""
    return ridge.alpha * ridge.hat_diag()


def loo_predictions(ridge: WeightedRidge) -> Tensor:
    """Closed-form leave-one-out outputs ŷ_{−i} = (ŷ_i − h_i y_i)/(1 − h_i): the prediction
    for sample i of the model trained with α_i = 0 and every other weight unchanged."""
    h = leverages(ridge)[:, None]
    fitted = ridge.y - ridge.residuals
    return (fitted - h * ridge.y) / (1 - h)


def loo_gradient(ridge: WeightedRidge, loss: OutputLoss) -> tuple[Tensor, Tensor]:
    """(L_LOO, ∇_α L_LOO) in closed form, where L_LOO = loss(ŷ_{−·}, Y) over all rows
    (unweighted: rows with α_i = 0 count as held-out samples)."""
    m_diag = ridge.hat_diag()
    s = 1 / (1 - ridge.alpha * m_diag)
    r = ridge.residuals
    # ŷ_{−i} = y_i − s_i r_i (the closed form of ``loo_predictions``, sharing diag(M)).
    value, g = _loss_and_output_grad(loss, ridge.y - s[:, None] * r, ridge.y)
    g_dot_r = (g * r).sum(1)
    through_outputs = (r * ridge.hat_times(s[:, None] * g)).sum(1)
    own_leverage = s.square() * m_diag * g_dot_r
    others_leverage = ridge.hat_squared_times(ridge.alpha * s.square() * g_dot_r)
    return value, through_outputs - own_leverage + others_leverage


def val_gradient(
    ridge: WeightedRidge, z_val: Tensor, y_val: Tensor, loss: OutputLoss
) -> tuple[Tensor, Tensor]:
    """(L_val, ∇_α L_val) in closed form (Prop. 2) for a validation set (z_val, y_val)."""
    y_val = y_val.to(ridge.weights.dtype)
    value, g = _loss_and_output_grad(loss, ridge.predict(z_val), y_val)
    return value, (ridge.residuals * ridge.cross_times(z_val, g)).sum(1)
