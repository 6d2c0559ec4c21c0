"""Full-batch node classifiers built from PyG layers, fed a precomputed propagation matrix."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.nn import GCNConv, Linear, SAGEConv

from iclr.methods.baselines.sparse import sparse_dropout


class MeanSAGEConv(SAGEConv):
    """PyG's ``SAGEConv`` (mean aggregator) applied as ``P (x W_l) + b_l + x W_r``.

    Same parameters and outputs as ``SAGEConv(aggr="mean")`` given ``P = D^-1 A``; projecting
    before aggregating lets a sparse ``x`` stay sparse and aggregates ``out`` instead of ``in``
    channels.
    """

    def forward(self, x: torch.Tensor, mean_adj: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        out = mean_adj @ F.linear(x, self.lin_l.weight) + self.lin_l.bias
        if self.root_weight:
            out = out + self.lin_r(x)
        return out


class LinearLayer(Linear):
    """PyG ``Linear`` with the graph-layer call signature (the graph is ignored)."""

    def forward(self, x: torch.Tensor, adj: torch.Tensor | None = None) -> torch.Tensor:  # type: ignore[override]
        return super().forward(x)


# Each architecture: (layer factory, propagation matrix it expects).
ARCHITECTURES = {
    "mlp": (lambda i, o: LinearLayer(i, o), None),
    "gcn": (lambda i, o: GCNConv(i, o, normalize=False), "gcn"),
    "sage": (lambda i, o: MeanSAGEConv(i, o, aggr="mean"), "mean"),
}


class NodeClassifier(nn.Module):
    """``layers`` graph (or linear) layers with ReLU and dropout before each layer."""

    def __init__(
        self, arch: str, in_dim: int, hidden: int, out_dim: int, layers: int, dropout: float
    ) -> None:
        super().__init__()
        if arch not in ARCHITECTURES:
            raise ValueError(
                f"unknown architecture {arch!r}; choose one of {sorted(ARCHITECTURES)}"
            )
        if layers < 1:
            raise ValueError("layers must be >= 1")
        make, self.propagation = ARCHITECTURES[arch]
        dims = [in_dim] + [hidden] * (layers - 1) + [out_dim]
        self.layers = nn.ModuleList(make(i, o) for i, o in zip(dims[:-1], dims[1:], strict=True))
        self.dropout = dropout

    def forward(self, x: torch.Tensor, adj: torch.Tensor | None = None) -> torch.Tensor:
        for i, layer in enumerate(self.layers):
            x = sparse_dropout(x, self.dropout, self.training)
            x = layer(x, adj)
            if i < len(self.layers) - 1:
                x = x.relu()
        return x
