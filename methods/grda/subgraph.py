"""Sub-graph sampling and the graph discriminator's link-reconstruction loss (GRDA, Sec. 3).

Each step the discriminator sees ``sample_v`` domains: half the time drawn uniformly, half the
time as random-walk chains on the domain graph (a chain stops at a dead end and a new one starts
at an unvisited node). All pairs of the sample are scored in one batched inner product.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor


def random_walk_chains(adjacency: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """``size`` distinct nodes collected by self-avoiding random walks (GRDA's chain sampler).

    The loop runs over walk steps (at most ``size``), never over all nodes or pairs.
    """
    n = adjacency.shape[0]
    visited = np.zeros(n, dtype=bool)
    chosen: list[int] = []
    current = -1
    while len(chosen) < size:
        if current >= 0:
            options = np.flatnonzero((adjacency[current] > 0) & ~visited)
        if current < 0 or options.size == 0:  # start a new chain at an unvisited node
            options = np.flatnonzero(~visited)
        current = int(rng.choice(options))
        visited[current] = True
        chosen.append(current)
    return np.asarray(chosen)


def sample_subgraph(adjacency: Tensor | np.ndarray, size: int, rng: np.random.Generator):
    """Uniform sample without replacement or random-walk chains, each with probability ½."""
    a = adjacency.cpu().numpy() if isinstance(adjacency, Tensor) else adjacency
    size = min(size, a.shape[0])
    if rng.integers(2) == 0:
        return rng.choice(a.shape[0], size=size, replace=False)
    return random_walk_chains(a, size, rng)


def pair_logits(d: Tensor, adjacency: Tensor, nodes: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Inner products of node embeddings for every pair of sampled domains and batch position.

    ``d`` is (V, B, k) for the V sampled domains. Returns logits (B, V, V), the adjacency labels
    (V, V) and the strict upper-triangle mask that selects each pair i < j once.
    """
    with torch.autocast(d.device.type, enabled=False):  # fp32 also in a bf16 step (MLP's output)
        logits = torch.einsum("ibk,jbk->bij", d, d)
    labels = adjacency[nodes][:, nodes]
    upper = torch.ones_like(labels, dtype=torch.bool).triu(diagonal=1)
    return logits, labels, upper


def graph_discriminator_loss(d: Tensor, adjacency: Tensor, nodes: Tensor) -> Tensor:
    """GRDA's L_D on the sampled domains ``nodes``; ``d`` is (V, B, k), row i for ``nodes[i]``.

    BCE-with-logits of ⟨d_i^b, d_j^b⟩ against A_ij, averaged separately over connected and
    unconnected pairs (each over all b), then ½·(connected + unconnected)·num_domains as in the
    official code. A class absent from the sample contributes zero.
    """
    logits, labels, upper = pair_logits(d, adjacency, nodes)
    bce = F.binary_cross_entropy_with_logits(
        logits, labels.expand_as(logits), reduction="none"
    ).mean(0)  # (V, V): mean over batch positions
    connected = upper & (labels > 0)
    unconnected = upper & (labels == 0)
    loss = bce.new_zeros(())
    for mask in (connected, unconnected):
        if mask.any():
            loss = loss + bce[mask].mean()
    return 0.5 * loss * adjacency.shape[0]
