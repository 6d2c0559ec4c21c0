"""Full-network linearisation: block LOO against retraining, K = 1 against the scalar form,
∇_α L_LOO against finite differences, and label-noise detection on sklearn digits."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from iclr.methods.diva.backbones import TinyCNN
from iclr.methods.diva.derivatives import loo_predictions, squared_loss
from iclr.methods.diva.linearised import (
    BlockFeatures,
    block_loo_gradient,
    fit_block_ridge,
    jacobian_features,
)
from iclr.methods.diva.procedures import Objective
from iclr.methods.diva.ridge import fit_weighted_ridge


def random_problem(n: int, k: int, p: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    features = BlockFeatures(
        torch.randn(n, k, p, generator=g, dtype=torch.float64),
        torch.randn(n, k, generator=g, dtype=torch.float64),
    )
    y = F.one_hot(torch.randint(0, k, (n,), generator=g), k).double()
    alpha = 0.2 + torch.rand(n, generator=g, dtype=torch.float64) * 1.5
    return features, y, alpha


@pytest.mark.parametrize("form, p", [("primal", 6), ("dual", 40), ("auto", 40)])
@pytest.mark.parametrize("weighted", [False, True])
def test_block_loo_equals_retraining_without_the_sample(form, p, weighted):
    features, y, alpha = random_problem(n=9, k=3, p=p)
    if not weighted:
        alpha = torch.ones_like(alpha)
    lam = 0.7
    loo = fit_block_ridge(features, y, alpha, lam, form).loo_predictions()
    for i in (0, 4, 8):
        keep = torch.arange(len(y)) != i
        refit = fit_block_ridge(features[keep], y[keep], alpha[keep], lam, form)
        torch.testing.assert_close(loo[i], refit.predict(features[i : i + 1])[0], rtol=0, atol=1e-9)


def test_block_loo_with_one_output_is_the_scalar_formula():
    features, _, alpha = random_problem(n=15, k=1, p=4)
    features = BlockFeatures(features.jac, torch.zeros_like(features.offset))
    y = torch.randn(15, 1, dtype=torch.float64)
    block = fit_block_ridge(features, y, alpha, 0.3).loo_predictions()
    scalar = loo_predictions(fit_weighted_ridge(features.jac[:, 0], y, alpha, 0.3))
    torch.testing.assert_close(block, scalar, rtol=0, atol=1e-12)


@pytest.mark.parametrize("form, p", [("primal", 6), ("dual", 40)])
def test_block_loo_gradient_matches_finite_differences(form, p):
    features, y, alpha = random_problem(n=8, k=3, p=p, seed=1)
    lam, eps = 0.5, 1e-4  # the dual near interpolation (P > NK) amplifies rounding at 1e-6

    def loo_loss(a):
        return squared_loss(fit_block_ridge(features, y, a, lam, form).loo_predictions(), y)

    _, grad = block_loo_gradient(features, y, alpha, lam, squared_loss, form)
    for i in range(len(y)):
        step = torch.zeros_like(alpha)
        step[i] = eps
        numeric = (loo_loss(alpha + step) - loo_loss(alpha - step)) / (2 * eps)
        assert abs(grad[i].item() - numeric.item()) < 1e-6 * max(1.0, abs(numeric.item()))
    other = "dual" if form == "primal" else "primal"
    _, grad_other = block_loo_gradient(features, y, alpha, lam, squared_loss, other)
    torch.testing.assert_close(grad, grad_other, rtol=1e-7, atol=1e-9)


def test_val_gradient_matches_finite_differences():
    features, y, alpha = random_problem(n=8, k=3, p=6, seed=2)
    val, y_val, _ = random_problem(n=5, k=3, p=6, seed=3)
    objective = Objective("val", "squared", 0.5, "auto", val, y_val)
    _, grad = objective.gradient(features, y, alpha)
    eps = 1e-6
    for i in (0, 3, 7):
        step = torch.zeros_like(alpha)
        step[i] = eps
        plus = objective.gradient(features, y, alpha + step)[0]
        minus = objective.gradient(features, y, alpha - step)[0]
        assert abs(grad[i].item() - (plus - minus) / (2 * eps)) < 1e-6


def test_jacobian_features_match_autograd_and_linearise_at_w0():
    model = TinyCNN(8, 4, width=5, channels=2).double()
    x = torch.randn(3, 1, 8, 8, dtype=torch.float64)
    features = jacobian_features(model, x, batch=2)
    n_params = sum(p.numel() for p in model.parameters())
    assert features.jac.shape == (3, 4, n_params)
    torch.testing.assert_close(features.offset, model(x).detach())
    out = model(x[1:2])[0, 2]
    grads = torch.autograd.grad(out, list(model.parameters()))
    torch.testing.assert_close(features.jac[1, 2], torch.cat([g.flatten() for g in grads]))


def test_linearised_cnn_on_digits_learns_and_detects_flipped_labels():
    from sklearn.datasets import load_digits
    from sklearn.metrics import roc_auc_score

    digits = load_digits()
    images = torch.tensor(digits.images, dtype=torch.float32)[:, None] / 16
    labels = torch.tensor(digits.target)
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(0))
    pre, train, test = order[:300], order[300:700], order[700:1000]
    torch.manual_seed(0)
    model = TinyCNN(8, 10, width=16, channels=8)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(30):
        for rows in pre.split(32):
            optimizer.zero_grad()
            F.cross_entropy(model(images[rows]), labels[rows]).backward()
            optimizer.step()
    z, z_test = jacobian_features(model, images[train]), jacobian_features(model, images[test])
    assert z.shape == (400, 2314)
    g = torch.Generator().manual_seed(1)
    flipped = torch.zeros(len(train), dtype=torch.bool)
    flipped[torch.randperm(len(train), generator=g)[:80]] = True
    noisy = labels[train].clone()
    noisy[flipped] = (noisy[flipped] + torch.randint(1, 10, (80,), generator=g)) % 10
    y = F.one_hot(noisy, 10).double()
    ones = torch.ones(len(train), dtype=torch.float64)
    clean = fit_block_ridge(z, F.one_hot(labels[train], 10).double(), ones, 1.0)
    assert (clean.predict(z_test).argmax(1) == labels[test]).double().mean() > 0.5  # chance 0.1
    _, grad = Objective("loo", "squared", 1.0).gradient(z, y, ones)
    assert roc_auc_score(flipped.numpy(), grad.numpy()) > 0.8


def test_block_gradients_are_finite_and_agree_where_some_weights_are_zero():
    # Extend scores pool rows (α = 0); the dual form goes through √α, whose derivative is ∞ at 0
    features, y, alpha = random_problem(n=8, k=3, p=40, seed=2)
    alpha[[1, 5]] = 0.0
    _, dual = block_loo_gradient(features, y, alpha, 0.5, squared_loss, "dual")
    _, primal = block_loo_gradient(features, y, alpha, 0.5, squared_loss, "primal")
    assert torch.isfinite(dual).all()
    torch.testing.assert_close(dual, primal, rtol=1e-6, atol=1e-8)
