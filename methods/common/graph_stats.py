"""Graph statistics shared by graph methods: node homophily β(G) (Pei et al., 2020, Geom-GCN)."""

from __future__ import annotations

import math

import torch
from torch_geometric.utils import coalesce, remove_self_loops, scatter


def homophily(edge_index: torch.Tensor, y: torch.Tensor, num_nodes: int | None = None) -> float:
    """Node homophily β(G) ∈ [0, 1] (Pei et al., 2020), as in Cold Brew's Table 2/11.

    β(G) = mean over nodes v with at least one neighbour of |{u ∈ N(v) : y_u = y_v}| / |N(v)|.

    Neighbours follow PyG's ``source → target`` flow: N(v) = {u : (u, v) ∈ edge_index}, so a
    directed graph gives in-neighbours (pass ``to_undirected(edge_index)`` for the undirected
    reading). Self-loops are dropped (a node is not its own neighbour) and duplicate edges count
    once, so N(v) is a set as in the definition.

    PyG's ``homophily(..., method="node")`` instead averages over *all* nodes, scoring isolated
    ones 0: the two agree on graphs without isolated nodes (and without self-loops/duplicates);
    otherwise PyG's value is this one times (non-isolated nodes / all nodes).

    Returns NaN when no node has a neighbour.
    """
    y = y.view(-1)
    n = y.numel() if num_nodes is None else num_nodes
    edge_index, _ = remove_self_loops(edge_index)
    edge_index = coalesce(edge_index, num_nodes=n)
    src, dst = edge_index
    same = (y[src] == y[dst]).float()
    # Per-target counts of same-label and all neighbours; scatter is the vectorised group-by.
    same_count = scatter(same, dst, dim=0, dim_size=n, reduce="sum")
    deg = scatter(torch.ones_like(same), dst, dim=0, dim_size=n, reduce="sum")
    has_neighbour = deg > 0
    if not bool(has_neighbour.any()):
        return math.nan
    return float((same_count[has_neighbour] / deg[has_neighbour]).mean())
