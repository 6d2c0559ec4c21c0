"""Did GIANT fit its objective, and does what it learned generalise? (issue #18)

Two checks every GIANT run reports beside its downstream accuracy:

- **Bias-only loss per level.** The squared hinge of the best per-cluster constant logit (no
  input at all) on the same nodes and active clusters the level trains on. A level whose final
  loss is not clearly below it has not learned anything from the text.
- **Held-out neighbour recall@10.** A fraction of the edges is hidden from GIANT's training
  (``diagnostics.holdout_fraction``); every node with a hidden neighbour ranks all other nodes
  (itself and its training neighbours excluded) and recall@10 counts the hidden ones in the
  top 10. Scorers: the trained XR model (sum of every level's logit along each label's tree
  path), cosine of the exported GIANT features, and the training-free baselines cosine on TF-IDF
  and on frozen MiniLM embeddings. GIANT that learns nothing beyond text similarity cannot beat
  the last two.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch


def bias_only_loss(positive: sp.csr_matrix, active: sp.csr_matrix | None) -> float:
    """Squared-hinge loss (margin 1, mean over each node's active clusters, then over nodes) of
    the best constant logit per cluster; ``active`` None means every cluster is active.

    Per cluster c with weighted positive / negative mass P, N (weights 1 / (n |A_i|)), the loss
    P (1 - b)^2 + N (1 + b)^2 is minimised at b = (P - N) / (P + N), inside [-1, 1] where the
    hinge is not clipped, and equals 4 P N / (P + N).
    """
    n, size = positive.shape
    if active is None:
        weight = np.full(n, 1.0 / (n * size))
        pos = np.asarray(positive.T @ weight).ravel()
        neg = weight.sum() - pos
    else:
        counts = np.asarray(active.sum(1)).ravel()
        weight = np.where(counts > 0, 1.0 / (n * np.maximum(counts, 1)), 0.0)
        pos = np.asarray(positive.multiply(active).T @ weight).ravel()
        neg = np.asarray(active.T @ weight).ravel() - pos
    total = pos + neg
    keep = total > 0
    return float(np.sum(4.0 * pos[keep] * neg[keep] / total[keep]))


def holdout_edges(
    edge_index: np.ndarray, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """(training edges, held-out edges), each undirected edge in both directions, the held-out
    ones a ``fraction`` of the undirected edges drawn at random."""
    src, dst = edge_index
    upper = np.stack([src[src < dst], dst[src < dst]])
    hidden = np.zeros(upper.shape[1], dtype=bool)
    count = int(round(fraction * upper.shape[1]))
    hidden[np.random.default_rng(seed).choice(upper.shape[1], count, replace=False)] = True

    def both(e: np.ndarray) -> np.ndarray:
        out = np.concatenate([e, e[::-1]], axis=1)
        return out[:, np.lexsort((out[1], out[0]))]

    return both(upper[:, ~hidden]), both(upper[:, hidden])


def adjacency(edge_index: np.ndarray, num_nodes: int) -> sp.csr_matrix:
    """0/1 CSR adjacency of an edge list."""
    ones = np.ones(edge_index.shape[1], dtype=np.float32)
    return sp.csr_matrix((ones, (edge_index[0], edge_index[1])), shape=(num_nodes, num_nodes))


def recall_at_k(
    score_rows: Callable[[np.ndarray], torch.Tensor],
    targets: sp.csr_matrix,
    excluded: sp.csr_matrix | None,
    k: int = 10,
    block: int = 512,
) -> float:
    """Mean over nodes with at least one target of |top-k ∩ targets| / |targets|, ranking all
    nodes by ``score_rows(rows)`` (a (len(rows), N) tensor), self and ``excluded`` masked out.
    Row blocks keep memory at block × N (ogbn-arxiv has 169k nodes)."""
    nodes = np.flatnonzero(np.diff(targets.indptr) > 0)
    recalls = []
    for start in range(0, nodes.size, block):
        rows = nodes[start : start + block]
        scores = score_rows(rows).float().clone()
        scores[torch.arange(rows.size), torch.from_numpy(rows)] = -torch.inf
        if excluded is not None:
            mask = torch.from_numpy(excluded[rows].toarray() > 0)
            scores[mask] = -torch.inf
        top = scores.topk(min(k, scores.shape[1]), dim=1).indices.numpy()
        truth = targets[rows]
        hits = np.asarray(truth[np.arange(rows.size)[:, None], top].sum(1)).ravel()
        recalls.append(hits / np.diff(truth.indptr))
    return float(np.concatenate(recalls).mean()) if recalls else float("nan")


def cosine_scorer(features: Any) -> Callable[[np.ndarray], torch.Tensor]:
    """Scores = cosine similarity; dense features are centred first (as the downstream models
    see them, standardised), sparse TF-IDF rows are already L2-normalised."""
    if sp.issparse(features):
        matrix = sp.csr_matrix(features, dtype=np.float32)
        return lambda rows: torch.from_numpy((matrix[rows] @ matrix.T).toarray())
    x = torch.as_tensor(features, dtype=torch.float32)
    x = torch.nn.functional.normalize(x - x.mean(0), dim=1)
    return lambda rows: x[torch.from_numpy(rows)] @ x.T


def path_scorer(
    embedding: torch.Tensor, heads: list[torch.nn.Linear], leaf_clusters: list[np.ndarray]
) -> Callable[[np.ndarray], torch.Tensor]:
    """XR-model scores of every label (= node): the sum over levels of the level head's logit
    of the label's cluster at that level (``leaf_clusters[t][j]``), on ``embedding``."""
    index = [torch.from_numpy(c) for c in leaf_clusters]

    def score(rows: np.ndarray) -> torch.Tensor:
        x = embedding[torch.from_numpy(rows)]
        with torch.no_grad():
            return sum(h(x).float()[:, i] for h, i in zip(heads, index, strict=True))

    return score
