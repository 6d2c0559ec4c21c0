"""Shapley / Banzhaf estimators of trajattr against brute force, shapiq and the axioms."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from iclr.methods.trajattr import shapley


def make_game(n: int, seed: int, null: int | None = None):
    """A random non-additive game batch (2 games, 2 value kinds): linear + pairwise + a 3-way
    term; player ``null`` (if given) never changes the value."""
    gen = torch.Generator().manual_seed(seed)
    lin = torch.randn(2, n, 2, generator=gen, dtype=torch.float64)
    pair = torch.randn(2, n, n, 2, generator=gen, dtype=torch.float64)
    if null is not None:
        lin[:, null] = 0
        pair[:, null] = 0
        pair[:, :, null] = 0
    third = [i for i in range(n) if i != null][:3]

    def value(bits: torch.Tensor) -> torch.Tensor:
        x = bits.double()  # [b, M, n]
        v = torch.einsum("bmi,biv->bmv", x, lin)
        v = v + torch.einsum("bmi,bmj,bijv->bmv", x, x, pair)  # pairwise (diagonal: linear)
        v = v + 3.0 * x[..., third].prod(-1, keepdim=True)
        return v

    return value


def brute_force(value, n: int, weighting: str) -> torch.Tensor:
    """φ by explicit enumeration of subsets (a Python loop: fine for a test)."""
    out = torch.zeros(2, n, 2, dtype=torch.float64)
    for i in range(n):
        others = [j for j in range(n) if j != i]
        for size in range(n):
            for subset in itertools.combinations(others, size):
                bits = torch.zeros(2, 2, n, dtype=torch.bool)
                bits[:, 0, list(subset)] = True
                bits[:, 1, list(subset) + [i]] = True
                v = value(bits)
                if weighting == "shapley":
                    w = math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)
                else:
                    w = 2.0 ** -(n - 1)
                out[:, i] += w * (v[:, 1] - v[:, 0])
    return out


@pytest.mark.parametrize("weighting", ["shapley", "banzhaf"])
def test_exact_matches_brute_force(weighting):
    value = make_game(5, seed=1)
    phi = shapley.exact(value, 2, 5, weighting)
    assert torch.allclose(phi, brute_force(value, 5, weighting), atol=1e-12)


def test_exact_shapley_is_efficient_and_null_player_gets_zero():
    n, null = 6, 4
    value = make_game(n, seed=2, null=null)
    phi = shapley.exact(value, 2, n)
    full = value(torch.ones(2, 1, n, dtype=torch.bool))[:, 0]
    empty = value(torch.zeros(2, 1, n, dtype=torch.bool))[:, 0]
    assert torch.allclose(phi.sum(1), full - empty, atol=1e-12)  # efficiency
    assert phi[:, null].abs().max() < 1e-12  # dummy / null player
    assert phi.abs().max() > 0.1  # the game is not trivial


def test_exact_matches_shapiq():
    shapiq = pytest.importorskip("shapiq")
    n = 6
    value = make_game(n, seed=3)

    def game(coalitions: np.ndarray) -> np.ndarray:
        bits = torch.as_tensor(coalitions, dtype=torch.bool)[None]
        return value(bits.expand(2, -1, -1))[0, :, 0].numpy()

    computer = shapiq.ExactComputer(game, n_players=n)
    sv, bv = computer("SV", order=1), computer("BV", order=1)
    ours_sv = shapley.exact(value, 2, n, "shapley")[0, :, 0].numpy()
    ours_bv = shapley.exact(value, 2, n, "banzhaf")[0, :, 0].numpy()
    assert np.allclose(ours_sv, [sv[(i,)] for i in range(n)], atol=1e-10)
    assert np.allclose(ours_bv, [bv[(i,)] for i in range(n)], atol=1e-10)


def test_permutation_estimate_converges_to_exact():
    n = 7
    value = make_game(n, seed=4, null=2)
    exact = shapley.exact(value, 2, n)
    errors = []
    for k in (8, 128, 2048):
        est = shapley.permutation_shapley(value, 2, n, k, torch.Generator().manual_seed(0))
        errors.append(float((est - exact).abs().max()))
        # every permutation estimate is efficient and gives the null player exactly 0
        full = value(torch.ones(2, 1, n, dtype=torch.bool))[:, 0]
        empty = value(torch.zeros(2, 1, n, dtype=torch.bool))[:, 0]
        assert torch.allclose(est.sum(1), full - empty, atol=1e-10)
        assert est[:, 2].abs().max() < 1e-12
    assert errors[2] < errors[0] / 4 and errors[2] < 0.1, errors


def test_released_scheme_estimates_banzhaf_not_shapley():
    n = 5
    value = make_game(n, seed=5)
    est = shapley.released_banzhaf(value, 2, n, 4000, torch.Generator().manual_seed(0))
    banzhaf = shapley.exact(value, 2, n, "banzhaf")
    sv = shapley.exact(value, 2, n, "shapley")
    err_bv = float((est - banzhaf).abs().max())
    assert err_bv < 0.15
    assert float((sv - banzhaf).abs().max()) > 3 * err_bv  # the two indices differ here
