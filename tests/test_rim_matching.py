"""Matching: the compiled greedy equals a plain loop, and the dual meets the constraints at
close to the linear-programming optimum."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.optimize import linprog

from iclr.methods.rim.matching import Dual, constraints, greedy


def plain_greedy(scores: np.ndarray, k: int, c: int) -> np.ndarray:
    taken = np.zeros(scores.shape, dtype=bool)
    rows, cols = np.zeros(scores.shape[0]), np.zeros(scores.shape[1])
    for flat in np.argsort(-scores, axis=None, kind="stable"):
        i, j = divmod(flat, scores.shape[1])
        if rows[i] < k and cols[j] < c:
            taken[i, j], rows[i], cols[j] = True, rows[i] + 1, cols[j] + 1
    return taken


def lp_optimum(scores: np.ndarray, k: float, c: float) -> float:
    n, m = scores.shape
    rows = np.kron(np.eye(n), np.ones(m))
    cols = np.kron(np.ones(n), np.eye(m))
    res = linprog(
        -scores.ravel(),
        A_ub=np.vstack([rows, cols]),
        b_ub=np.r_[np.full(n, k), np.full(m, c)],
        bounds=(0, 1),
    )
    return -res.fun


@pytest.fixture
def scores() -> torch.Tensor:
    return torch.rand(30, 20, generator=torch.Generator().manual_seed(3), dtype=torch.float64)


def test_greedy_equals_a_plain_loop_and_respects_caps(scores):
    taken = greedy(scores, 4, 3, "ub", torch.Generator().manual_seed(0))
    assert np.array_equal(taken, plain_greedy(scores.numpy(), 4, 3))
    assert taken.sum(1).max() <= 4 and taken.sum(0).max() <= 3


def test_greedy_min_exposure_reaches_every_item(scores):
    taken = greedy(scores, 2, 2, "lb", torch.Generator().manual_seed(0))
    assert taken.sum(0).min() >= 2 and taken.sum(1).max() <= 2


def test_dual_meets_caps_near_the_lp_optimum(scores):
    s = scores.numpy()
    pi = (
        Dual(4, 3, "ub", epochs=60, min_epsilon=1e-6)
        .fit(scores, torch.Generator())
        .transform(scores)
    )
    assert pi.sum(1).max() <= 4 + 1e-3 and pi.sum(0).max() <= 3 + 0.05
    assert (s * pi).sum() >= 0.97 * lp_optimum(s, 4, 3)
    assert (s * pi).sum() >= (s * plain_greedy(s, 4, 3)).sum() - 1e-6


def test_mult_maps_to_exposure_floor_or_user_cap():
    assert constraints(0.5, 10, 4) == (10, 2.0, "lb")
    assert constraints(3, 10, 4) == (30, 4, "ub")
