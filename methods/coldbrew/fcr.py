"""Feature Contribution Ratio and node homophily: the graph statistics of Cold Brew's Table 2/11.

FCR (Zheng et al., ICLR 2022, Sec. 4, Eq. 5) places a dataset between "labels on the graph explain
everything" (0 %) and "features explain everything" (100 %; above 100 % when a features-only MLP
beats the GNN). Homophily β(G) is Pei et al.'s (2020, Geom-GCN) node homophily, Eq. 6 there.
"""

from __future__ import annotations

import math

import torch
from torch_geometric.utils import coalesce, remove_self_loops, scatter


def feature_contribution_ratio(z_gnn: float, z_mlp: float, z_lp: float) -> float:
    """FCR in percent from the test scores of a GNN, a features-only MLP and labels-only LP.

    With δ_MLP = z_GNN − z_MLP and δ_LP = z_GNN − z_LP (paper Eq. 5):

    - z_MLP ≤ z_GNN: FCR = δ_LP / (δ_MLP + δ_LP) · 100;
    - z_MLP > z_GNN: FCR = (1 + |δ_MLP| / (|δ_MLP| + δ_LP)) · 100.

    The ratio is scale-free, so the scores may be fractions or percents (all three alike).
    Returns NaN when the branch's denominator is zero (e.g. all three scores equal), where the
    paper's formula is undefined.

    >>> round(feature_contribution_ratio(86.96, 69.02, 78.18), 2)  # Cora, paper Table 2
    32.86
    """
    delta_mlp = z_gnn - z_mlp
    delta_lp = z_gnn - z_lp
    if z_mlp <= z_gnn:
        denominator = delta_mlp + delta_lp
        return math.nan if denominator == 0 else 100.0 * delta_lp / denominator
    # The MLP beats the GNN: the graph hurts, so the ratio goes beyond 100 %.
    denominator = abs(delta_mlp) + delta_lp
    return math.nan if denominator == 0 else 100.0 * (1.0 + abs(delta_mlp) / denominator)


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
