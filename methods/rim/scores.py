"""Low-rank log-score matrices: S = exp(U Vᵀ) over test users × test items, never materialised.

As ``LowRankDataFrame(act='exp')`` of the official code, every model is a pair of factor
matrices whose product is its log-score, so the product of two models (the "RIM trick"
S = p(y|x) · λ(x), or an intensity × item popularity) is the concatenation of their factors.
Blocks are computed on demand (users × a chunk of items, or a chunk of users × items), which
bounds memory for any matrix size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch

EXCLUDED = -1e10  # the official exclude_train prior: "clip -inf to avoid nan"


@dataclass
class LowRankScores:
    """log S = ``user`` @ ``item``ᵀ; ``exclude`` pairs (sparse) score ``EXCLUDED``."""

    user: torch.Tensor  # n_users × r, float64
    item: torch.Tensor  # n_items × r, float64
    exclude: sp.csr_matrix | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return self.user.shape[0], self.item.shape[0]

    def __mul__(self, other: LowRankScores) -> LowRankScores:
        """The element-wise product of two score matrices (sum of log-scores)."""
        return LowRankScores(
            torch.cat([self.user, other.user], 1),
            torch.cat([self.item, other.item], 1),
            self.exclude if self.exclude is not None else other.exclude,
        )

    def with_exclude(self, exclude: sp.csr_matrix | None) -> LowRankScores:
        return LowRankScores(self.user, self.item, exclude)

    def block(self, rows: slice, cols: slice) -> torch.Tensor:
        """Dense scores S[rows, cols] (float64), excluded pairs set to ``EXCLUDED``."""
        out = (self.user[rows] @ self.item[cols].T).exp_()
        if self.exclude is not None:
            part = self.exclude[rows][:, cols].tocoo()
            out[torch.from_numpy(part.row).long(), torch.from_numpy(part.col).long()] = EXCLUDED
        return out

    def dense(self) -> torch.Tensor:
        """The whole matrix (for matching, which needs every pair at once)."""
        return self.block(slice(None), slice(None))


def user_vector(log_values: np.ndarray | torch.Tensor, n_items: int) -> LowRankScores:
    """A per-user factor: log S[u, y] = log_values[u] for every item."""
    values = torch.as_tensor(np.asarray(log_values), dtype=torch.float64)[:, None]
    return LowRankScores(values, torch.ones(n_items, 1, dtype=torch.float64))


def item_vector(log_values: np.ndarray | torch.Tensor, n_users: int) -> LowRankScores:
    """A per-item factor: log S[u, y] = log_values[y] for every user."""
    values = torch.as_tensor(np.asarray(log_values), dtype=torch.float64)[:, None]
    return LowRankScores(torch.ones(n_users, 1, dtype=torch.float64), values)


def constant(n_users: int, n_items: int) -> LowRankScores:
    """S = 1 everywhere (the Rand model: ties are broken at random by the tie-breaker)."""
    return user_vector(np.zeros(n_users), n_items)
