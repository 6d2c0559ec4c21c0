"""References for checking the matching solvers: the exact linear-programming optimum of the
capacity-constrained assignment, and heavy-tailed synthetic scores shaped like RNN-HP's.
Used by ``tests/test_rim_matching.py`` and ``benchmarks/rim_dual.py``."""

from __future__ import annotations

import numpy as np
import torch


def lp_optimum(scores: np.ndarray, k: float, c: float, kind: str = "ub") -> float:
    """The exact optimum of the same assignment: max Σ s·π, 0 ≤ π ≤ 1, Σ_y π ≤ k per user and
    Σ_x π ≤ C (ub) or ≥ C (lb) per item (HiGHS). Dense constraints: small instances only."""
    from scipy.optimize import linprog

    n, m = scores.shape
    rows = np.kron(np.eye(n), np.ones(m))
    cols = np.kron(np.ones(n), np.eye(m)) * (1 if kind == "ub" else -1)
    res = linprog(
        -scores.ravel(),
        A_ub=np.vstack([rows, cols]),
        b_ub=np.r_[np.full(n, k), np.full(m, c if kind == "ub" else -c)],
        bounds=(0, 1),
    )
    if res.status != 0:
        raise RuntimeError(f"linprog: {res.message}")
    return -res.fun


def skewed_scores(n: int, m: int, seed: int) -> torch.Tensor:
    """exp(rank-4 + user and item biases): the heavy-tailed shape of RNN-HP's scores (ranging
    over four decades), where many items compete for the few top users."""
    gen = torch.Generator().manual_seed(seed)
    user, item = (torch.randn(size, 4, generator=gen, dtype=torch.float64) for size in (n, m))
    bias = torch.randn(n, 1, generator=gen, dtype=torch.float64)
    pop = 1.5 * torch.randn(1, m, generator=gen, dtype=torch.float64)
    return (user @ item.T + bias + pop).exp()
