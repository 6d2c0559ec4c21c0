"""DIVA's maths against brute force: LOO vs retraining, derivatives vs finite differences and
autograd, the paper's √D_α form, primal vs dual solvers."""

from __future__ import annotations

import pytest
import torch

from iclr.methods.diva.derivatives import (
    cross_entropy_loss,
    loo_gradient,
    loo_predictions,
    squared_loss,
    val_gradient,
)
from iclr.methods.diva.procedures import Objective, extend, gradient_step, reweight
from iclr.methods.diva.ridge import fit_weighted_ridge

LAM = 0.7


def problem(n: int = 40, d: int = 12, k: int = 3, seed: int = 0, zero_weight: bool = True):
    generator = torch.Generator().manual_seed(seed)
    z = torch.randn(n, d, generator=generator, dtype=torch.float64)
    labels = torch.randint(0, k, (n,), generator=generator)
    y = torch.nn.functional.one_hot(labels, k).double()
    alpha = 0.2 + torch.rand(n, generator=generator, dtype=torch.float64)
    if zero_weight:
        alpha[3] = 0.0
    return z, y, alpha


def brute_force_weights(z, y, alpha, lam):
    """Weighted ridge solved from its normal equations, without any of our code."""
    gram = z.T @ torch.diag(alpha) @ z + lam * torch.eye(z.shape[1], dtype=z.dtype)
    return torch.linalg.solve(gram, z.T @ torch.diag(alpha) @ y)


@pytest.mark.parametrize("form,shape", [("primal", (40, 12)), ("dual", (15, 30))])
@pytest.mark.parametrize("weighted", [False, True])
def test_loo_equals_retraining_without_each_sample(form, shape, weighted):
    z, y, alpha = problem(*shape)
    if not weighted:
        alpha = torch.ones_like(alpha)
    ridge = fit_weighted_ridge(z, y, alpha, LAM, form)
    torch.testing.assert_close(ridge.weights, brute_force_weights(z, y, alpha, LAM))
    loo = loo_predictions(ridge)
    for i in [0, 3, 7, shape[0] - 1]:
        without_i = alpha.clone()
        without_i[i] = 0.0
        retrained = z[i] @ brute_force_weights(z, y, without_i, LAM)
        torch.testing.assert_close(loo[i], retrained, rtol=1e-9, atol=1e-11)


def test_leverage_form_equals_the_papers_sqrt_d_form():
    z, y, alpha = problem(zero_weight=False)
    ridge = fit_weighted_ridge(z, y, alpha, LAM)
    root = alpha.sqrt()
    # Paper, Prop. 3: R_α = √D Z C Zᵀ √D; ŷ_{−i} = [(R√D Y)_i − R_ii √α_i y_i] / (√α_i − √α_i R_ii).
    c = torch.linalg.inv(z.T @ (alpha[:, None] * z) + LAM * torch.eye(z.shape[1], dtype=z.dtype))
    hat = root[:, None] * (z @ c @ z.T) * root[None, :]
    numerator = hat @ (root[:, None] * y) - (hat.diagonal() * root)[:, None] * y
    paper = numerator / (root - root * hat.diagonal())[:, None]
    torch.testing.assert_close(loo_predictions(ridge), paper, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("form,shape", [("primal", (40, 12)), ("dual", (15, 30))])
def test_model_derivative_prop1_and_validation_gradient_match_finite_differences(form, shape):
    z, y, alpha = problem(*shape)
    z_val, y_val, _ = problem(9, shape[1], seed=1)
    ridge = fit_weighted_ridge(z, y, alpha, LAM, form)
    _, grad = val_gradient(ridge, z_val, y_val, squared_loss)
    for i in [0, 3, 5]:
        # Central differences; one-sided (with a smaller step) at the zero weight α_3 = 0.
        step = 1e-6 if alpha[i] > 0 else 1e-8
        up, down = alpha.clone(), alpha.clone()
        up[i] += step
        down[i] -= step if alpha[i] > 0 else 0.0
        width = up[i] - down[i]
        w_up = fit_weighted_ridge(z, y, up, LAM, form).weights
        w_down = fit_weighted_ridge(z, y, down, LAM, form).weights
        # Prop. 1: ∂w/∂α_i = C z_i r_iᵀ, here as the finite-difference of the weights.
        c_z = torch.linalg.solve(
            z.T @ (alpha[:, None] * z) + LAM * torch.eye(shape[1]).double(), z[i]
        )
        torch.testing.assert_close(
            (w_up - w_down) / width, torch.outer(c_z, ridge.residuals[i]), rtol=1e-5, atol=1e-7
        )
        loss_up = squared_loss(z_val @ w_up, y_val)
        loss_down = squared_loss(z_val @ w_down, y_val)
        torch.testing.assert_close((loss_up - loss_down) / width, grad[i], rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("form,shape", [("primal", (40, 12)), ("dual", (15, 30))])
@pytest.mark.parametrize("loss", [squared_loss, cross_entropy_loss])
def test_closed_form_loo_gradient_equals_autograd(form, shape, loss):
    z, y, alpha = problem(*shape, zero_weight=(form == "primal"))
    value, grad = loo_gradient(fit_weighted_ridge(z, y, alpha, LAM, form), loss)
    # Autograd through the closed-form LOO predictions (the primal form: differentiable at α=0).
    leaf = alpha.clone().requires_grad_(True)
    reference = loss(loo_predictions(fit_weighted_ridge(z, y, leaf, LAM, "primal")), y)
    reference.backward()
    torch.testing.assert_close(value, reference.detach())
    torch.testing.assert_close(grad, leaf.grad, rtol=1e-8, atol=1e-12)
    # A sample's own LOO prediction does not depend on its own weight.
    assert (
        torch.autograd.functional.jacobian(
            lambda a: loo_predictions(fit_weighted_ridge(z, y, a, LAM, "primal"))[2], alpha
        )[:, 2]
        .abs()
        .max()
        < 1e-10
    )


def test_loo_gradient_matches_finite_differences():
    z, y, alpha = problem()
    _, grad = loo_gradient(fit_weighted_ridge(z, y, alpha, LAM), squared_loss)
    for i in [1, 8]:
        up, down = alpha.clone(), alpha.clone()
        up[i] += 1e-6
        down[i] -= 1e-6
        values = [
            squared_loss(loo_predictions(fit_weighted_ridge(z, y, a, LAM)), y) for a in (up, down)
        ]
        torch.testing.assert_close((values[0] - values[1]) / 2e-6, grad[i], rtol=1e-5, atol=1e-9)


def test_reweight_lowers_the_loo_loss_and_keeps_weights_non_negative():
    z, y, _ = problem(60, 10)
    alphas, values = reweight(z, y, Objective(lam=LAM), steps=3, lr=0.5)
    assert values[3] < values[0]
    assert all((a >= 0).all() for a in alphas) and torch.equal(alphas[0], torch.ones(60).double())
    assert (
        gradient_step(torch.ones(2).double(), torch.tensor([4.0, -2.0]).double(), 2.0, "max")[0]
        == 0.0
    )


def test_extend_only_adds_pool_samples_with_negative_derivative():
    z, y, _ = problem(80, 10, seed=2)
    in_pool = torch.arange(80) >= 30
    rounds = extend(z, y, in_pool, Objective(lam=LAM), per_round=5, max_rounds=100)
    added = torch.cat(rounds)
    assert in_pool[added].all() and len(set(added.tolist())) == len(added)
    alpha = (~in_pool).double()
    alpha[added] = 1.0
    _, grad = Objective(lam=LAM).gradient(z, y, alpha)
    remaining = in_pool.clone()
    remaining[added] = False
    assert (grad[remaining] >= 0).all()  # the stopping rule: no negative derivative left


def test_bad_settings_give_clear_errors():
    z, y, alpha = problem()
    with pytest.raises(ValueError, match="λ must be positive"):
        fit_weighted_ridge(z, y, alpha, 0.0)
    with pytest.raises(ValueError, match="non-negative"):
        fit_weighted_ridge(z, y, -alpha, LAM)
    with pytest.raises(ValueError, match="needs a validation set"):
        Objective(kind="val").gradient(z, y, alpha)
