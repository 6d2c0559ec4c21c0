"""Feature Contribution Ratio, the graph statistic of Cold Brew's Table 2/11 (homophily β(G),
its companion, is the shared ``iclr.methods.common.graph_stats.homophily``).

FCR (Zheng et al., ICLR 2022, Sec. 4, Eq. 5) places a dataset between "labels on the graph explain
everything" (0 %) and "features explain everything" (100 %; above 100 % when a features-only MLP
beats the GNN). Homophily β(G) is Pei et al.'s (2020, Geom-GCN) node homophily, Eq. 6 there.
"""

from __future__ import annotations

import math

from iclr.methods.common.graph_stats import homophily

__all__ = ["feature_contribution_ratio", "homophily"]


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
