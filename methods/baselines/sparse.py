"""Sparse building blocks: bag-of-words features and adjacency stay sparse end to end.

Planetoid features are ~1% non-zero. Dropout on the stored values of a CSR matrix is the same
operation in distribution as dense dropout (zeros stay zero), and sparse × dense replaces the
dense product: together they remove ~90% of a textbook GCN epoch on Cora.
"""

from __future__ import annotations

import warnings

import torch
from torch_geometric.utils import add_remaining_self_loops, degree, to_torch_csr_tensor

# CSR support is labelled beta but is exact for the ops used here; the invariant warning is about
# opting in to checks on tensors we build from validated indices.
warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta state")
warnings.filterwarnings("ignore", message="Sparse invariant checks are implicitly disabled")


def dropout(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Inverted dropout from a uniform draw: the same distribution as ``F.dropout``, but about
    twice as fast on CPU, where ``F.dropout``'s Bernoulli sampling dominates small-graph epochs."""
    if not training or p == 0.0:
        return x
    return x * (torch.rand_like(x) >= p) / (1.0 - p)


def sparse_dropout(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Dropout that keeps a sparse CSR tensor sparse (it drops stored values only)."""
    if not x.is_sparse_csr:
        return dropout(x, p, training)
    if not training or p == 0.0:
        return x
    values = dropout(x.values(), p, training)
    return torch.sparse_csr_tensor(x.crow_indices(), x.col_indices(), values, x.shape)


def as_csr(x: torch.Tensor, max_density: float = 0.1) -> torch.Tensor:
    """CSR copy of a dense matrix when at most ``max_density`` of it is non-zero, else ``x``."""
    if x.is_sparse_csr or x.count_nonzero().item() > max_density * x.numel():
        return x
    return x.to_sparse_csr()


def propagation_matrix(edge_index: torch.Tensor, num_nodes: int, kind: str) -> torch.Tensor:
    """Target-major CSR propagation matrix ``P`` with ``out = P @ x``.

    ``kind="gcn"``: D^-1/2 (A + I) D^-1/2 (Kipf & Welling); ``kind="mean"``: D^-1 A, the
    GraphSAGE mean aggregator (rows of nodes without neighbours stay empty).
    """
    src, dst = edge_index
    if kind == "gcn":
        (src, dst), _ = add_remaining_self_loops(edge_index, num_nodes=num_nodes)
        deg = degree(dst, num_nodes)
        inv_sqrt = deg.pow(-0.5).masked_fill(deg == 0, 0.0)
        weight = inv_sqrt[src] * inv_sqrt[dst]
    else:  # mean
        deg = degree(dst, num_nodes)
        weight = 1.0 / deg[dst]
    return to_torch_csr_tensor(torch.stack([dst, src]), weight, size=(num_nodes, num_nodes))
