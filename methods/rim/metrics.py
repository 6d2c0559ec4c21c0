"""ItemRec / UserRec assignment and the official metrics on the sparse hit matrix.

Follows ``rime/metrics/__init__.py`` (``evaluate_assigned``, ``evaluate_item_rec``,
``evaluate_user_rec``) and ``rime/util`` (``_assign_topk`` with a 1e-10 random tie-breaker,
``perplexity``) of awslabs/recurrent-intensity-model-experiments:

- prec = Σ hits / max(min_total_recs, Σ recommendations);
- recall = mean over users (ItemRec) or items (UserRec) of hits / max(1, #targets);
- item_cov / user_cov = fraction of items / users with ≥ 1 recommendation;
- item_ppl / user_ppl = exp(entropy of recommendations over items / users);
- obj_mean = Σ assigned scores / max(min_total_recs, Σ recommendations).

Top-k runs chunk by chunk with ``torch.topk`` (bounded memory), never a loop over users.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

from iclr.methods.rim.scores import LowRankScores

TIE_BREAKER = 1e-10
BLOCK_ELEMENTS = 1 << 23  # ~64 MiB of float64 per score block


def perplexity(counts: np.ndarray) -> float:
    """exp(entropy) of a non-negative count vector (``rime.util.perplexity``)."""
    p = np.ravel(np.asarray(counts, dtype=np.float64))
    total = p.sum()
    if total <= 0:
        return 0.0
    p = p / total
    return float(np.exp(-(p @ np.log(np.where(p > 0, p, 1e-10)))))


def _chunks(n: int, width: int) -> list[slice]:
    step = max(1, BLOCK_ELEMENTS // max(width, 1))
    return [slice(i, min(i + step, n)) for i in range(0, n, step)]


def assign_topk(
    scores: LowRankScores, k: int, axis: int, generator: torch.Generator
) -> tuple[sp.csr_matrix, float]:
    """Top-``k`` items per user (``axis=1``, ItemRec) or top-``k`` users per item (``axis=0``,
    UserRec); returns the 0/1 assignment matrix and the sum of the assigned scores."""
    n_users, n_items = scores.shape
    rows, cols, total = [], [], 0.0
    outer = n_users if axis == 1 else n_items
    width = n_items if axis == 1 else n_users
    k = min(k, width)
    for part in _chunks(outer, width):
        block = scores.block(part, slice(None)) if axis == 1 else scores.block(slice(None), part).T
        noisy = torch.rand(block.shape, generator=generator, dtype=block.dtype)
        noisy.mul_(TIE_BREAKER).add_(block)
        top = noisy.topk(k, dim=1)
        index = top.indices
        total += float(block.gather(1, index).sum())
        outer_index = torch.arange(part.start, part.stop).repeat_interleave(k)
        (rows if axis == 1 else cols).append(outer_index.numpy())
        (cols if axis == 1 else rows).append(index.reshape(-1).numpy())
    r, c = np.concatenate(rows), np.concatenate(cols)
    assigned = sp.csr_matrix((np.ones(len(r)), (r, c)), shape=(n_users, n_items))
    return assigned, total


def evaluate_assigned(
    target: sp.csr_matrix,
    assigned: sp.spmatrix | np.ndarray,
    obj_sum: float | None = None,
    axis: int | None = None,
    min_total_recs: float = 0.0,
) -> dict[str, float]:
    """The official metrics of an assignment (0/1 or fractional) against the targets."""
    if sp.issparse(assigned):
        hit = target.multiply(assigned)
    else:
        hit = target.multiply(np.asarray(assigned))
    total = max(float(min_total_recs), float(assigned.sum()))
    per_item = np.ravel(assigned.sum(axis=0))
    per_user = np.ravel(assigned.sum(axis=1))
    out = {
        "prec": float(hit.sum()) / total if total > 0 else 0.0,
        "recs_per_user": float(assigned.sum()) / assigned.shape[0],
        "item_cov": float((per_item > 0).mean()),
        "item_ppl": perplexity(per_item),
        "user_cov": float((per_user > 0).mean()),
        "user_ppl": perplexity(per_user),
    }
    if obj_sum is not None:
        out["obj_mean"] = obj_sum / total if total > 0 else 0.0
    if axis is not None:
        hits = np.ravel(hit.sum(axis=axis))
        ideal = np.ravel(target.sum(axis=axis))
        out["recall"] = float((hits / np.fmax(1, ideal)).mean())
    return out


def evaluate_item_rec(
    target: sp.csr_matrix, scores: LowRankScores, k: int, generator: torch.Generator
) -> dict[str, float]:
    """ItemRec: top-``k`` items per test user; recall averaged over users."""
    assigned, obj = assign_topk(scores, k, axis=1, generator=generator)
    return evaluate_assigned(target, assigned, obj, axis=1)


def evaluate_user_rec(
    target: sp.csr_matrix, scores: LowRankScores, c: int, generator: torch.Generator
) -> dict[str, float]:
    """UserRec: top-``c`` test users per item; recall averaged over items."""
    assigned, obj = assign_topk(scores, c, axis=0, generator=generator)
    return evaluate_assigned(target, assigned, obj, axis=0)
