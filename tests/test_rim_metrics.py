"""RIM's metrics: chunked top-k equals brute force, and the official formulas on a toy case."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

from iclr.methods.rim import metrics
from iclr.methods.rim.metrics import assign_topk, evaluate_assigned, perplexity
from iclr.methods.rim.scores import LowRankScores


def random_scores(n_users=37, n_items=53, rank=4, seed=0) -> LowRankScores:
    gen = torch.Generator().manual_seed(seed)
    return LowRankScores(
        torch.randn(n_users, rank, generator=gen, dtype=torch.float64),
        torch.randn(n_items, rank, generator=gen, dtype=torch.float64),
    )


def test_chunked_topk_matches_brute_force(monkeypatch):
    monkeypatch.setattr(metrics, "BLOCK_ELEMENTS", 200)  # many small chunks
    scores = random_scores()
    dense = torch.exp(scores.user @ scores.item.T).numpy()
    for axis, k in ((1, 5), (0, 3)):
        assigned, total = assign_topk(scores, k, axis, torch.Generator().manual_seed(0))
        top = np.argsort(-dense, axis=axis)
        expected = np.zeros_like(dense)
        if axis == 1:
            np.put_along_axis(expected, top[:, :k], 1.0, axis=1)
        else:
            np.put_along_axis(expected, top[:k, :], 1.0, axis=0)
        assert np.array_equal(assigned.toarray(), expected)
        assert np.isclose(total, (dense * expected).sum())


def test_excluded_pairs_are_never_recommended_first():
    scores = random_scores(5, 6)
    exclude = sp.csr_matrix(np.eye(5, 6))
    assigned, _ = assign_topk(scores.with_exclude(exclude), 5, 1, torch.Generator())
    assert assigned.multiply(exclude).sum() == 0


def test_official_metric_formulas_on_a_toy_assignment():
    target = sp.csr_matrix(np.array([[1, 0, 1], [0, 0, 0], [0, 1, 0]], dtype=float))
    assigned = sp.csr_matrix(np.array([[1, 1, 0], [1, 0, 0], [0, 1, 0]], dtype=float))
    out = evaluate_assigned(target, assigned, obj_sum=2.0, axis=1)
    assert out["prec"] == 2 / 4
    assert np.isclose(out["recall"], (1 / 2 + 0 / 1 + 1 / 1) / 3)  # max(1, #targets)
    assert out["item_cov"] == 2 / 3 and out["user_cov"] == 1.0
    assert np.isclose(out["item_ppl"], perplexity([2, 2, 0])) and np.isclose(out["item_ppl"], 2)
    assert out["obj_mean"] == 0.5
    assert evaluate_assigned(target, assigned, min_total_recs=8)["prec"] == 2 / 8
    assert np.isclose(perplexity(np.ones(7)), 7)
