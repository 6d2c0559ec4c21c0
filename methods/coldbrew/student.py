"""Cold Brew's student: an MLP that maps features to the teacher's embedding space (ξ1), virtual
neighbours retrieved among the teacher's embeddings, and an MLP on [x, virtual neighbourhood] (ξ2).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from iclr.methods.baselines.models import NodeClassifier
from iclr.methods.baselines.sparse import sparse_dropout

# Scores of one chunk (rows × candidates) are materialised at once: about 64M floats (256 MB).
SCORE_BUDGET = 1 << 26


class StudentHead(nn.Module):
    """ξ2: an MLP on the concatenation [x ‖ ẽ] (paper) or [x ‖ a·ẽ ‖ b·ê] (official code, with
    learnable scalars a, b initialised at 1e-4).

    The first layer is split into one linear map per input block, which equals a linear map of
    the concatenation and lets the bag-of-words block stay sparse.
    """

    def __init__(
        self,
        feat_dim: int,
        emb_dim: int,
        hidden: int,
        out_dim: int,
        layers: int = 2,
        dropout: float = 0.5,
        student_input: str = "paper",
    ) -> None:
        super().__init__()
        if layers < 2:
            raise ValueError("the student head needs layers >= 2")
        self.student_input = student_input
        self.lin_x = nn.Linear(feat_dim, hidden)
        self.lin_virtual = nn.Linear(emb_dim, hidden, bias=False)
        if student_input == "repo":
            self.lin_own = nn.Linear(emb_dim, hidden, bias=False)
            self.scales = nn.Parameter(torch.full((2,), 1e-4))
        self.rest = NodeClassifier("mlp", hidden, hidden, out_dim, layers - 1, dropout)
        self.dropout = dropout

    def forward(
        self, x: torch.Tensor, virtual: torch.Tensor, own: torch.Tensor | None = None
    ) -> torch.Tensor:
        h = self.lin_x(sparse_dropout(x, self.dropout, self.training))
        if self.student_input == "repo":
            h = h + self.scales[0] * self.lin_virtual(virtual) + self.scales[1] * self.lin_own(own)
        else:
            h = h + self.lin_virtual(F.dropout(virtual, self.dropout, self.training))
        return self.rest(h.relu())


@torch.no_grad()
def virtual_neighbours(
    queries: torch.Tensor,
    keys: torch.Tensor,
    k: int,
    chunk: int | None = None,
    query_ids: torch.Tensor | None = None,
    key_ids: torch.Tensor | None = None,
) -> torch.Tensor:
    """ẽ_i = softmax(Θ_K(ê_i Ēᵀ)) Ē for every query row ê_i, with ``keys`` = Ē.

    Θ_K keeps the K largest scores and sets the rest to −∞, so the softmax only spreads over the
    top-K teacher rows. Rows are processed in chunks so that the query × key score matrix is
    never materialised whole (``chunk`` rows at a time, by default sized to ``SCORE_BUDGET``).
    With node ids for queries and keys, a node never retrieves its own teacher row: training
    nodes would otherwise see their own teacher prediction, which isolated test nodes never can.
    """
    n_keys = keys.shape[0]
    k = min(k, n_keys - (1 if query_ids is not None else 0))
    if chunk is None:
        chunk = max(1, SCORE_BUDGET // max(n_keys, 1))
    position = None
    if query_ids is not None and key_ids is not None:
        size = int(max(query_ids.max(), key_ids.max())) + 1
        position = torch.full((size,), -1, dtype=torch.long, device=keys.device)
        position[key_ids] = torch.arange(n_keys, device=keys.device)
    out = torch.empty(queries.shape[0], keys.shape[1], dtype=keys.dtype, device=keys.device)
    for start in range(0, queries.shape[0], chunk):
        scores = queries[start : start + chunk] @ keys.T
        if position is not None:
            own = position[query_ids[start : start + chunk]]
            rows = torch.nonzero(own >= 0).squeeze(1)
            scores[rows, own[rows]] = float("-inf")
        top, index = scores.topk(k, dim=1)
        weights = top.softmax(dim=1)
        out[start : start + chunk] = torch.einsum("qk,qkd->qd", weights, keys[index])
    return out
