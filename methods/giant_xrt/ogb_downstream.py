"""The official GIANT downstream classifiers (``giant_xrt_ogb``): OGB's ogbn-arxiv MLP and
GraphSAGE, which put BatchNorm after every hidden layer (the runner's MLP / SAGE have none).

OGB ``examples/nodeproppred/arxiv/mlp.py`` and ``gnn.py`` (run by pecos
``examples/giant-xrt/run_ogb_baselines.sh``): ``layers`` linear (or mean-SAGE) layers of width
``hidden``; each hidden layer is followed by BatchNorm, ReLU and dropout; Adam without weight
decay; full batch; the test accuracy of the epoch with the best validation accuracy is reported
(OGB ``Logger``). The arxiv settings: 3 layers, 256, dropout 0.5, 500 epochs, lr 0.01 (MLP) and
8e-4 (GraphSAGE, ``run_ogb_baselines.sh``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from iclr.methods.baselines.models import ARCHITECTURES


class BatchNormClassifier(nn.Module):
    """OGB's arxiv MLP / SAGE: (layer -> BatchNorm -> ReLU -> dropout) x (layers - 1) -> layer."""

    def __init__(
        self, arch: str, in_dim: int, hidden: int, out_dim: int, layers: int, dropout: float
    ) -> None:
        super().__init__()
        make, self.propagation = ARCHITECTURES[arch]  # arch: validated by the options block
        dims = [in_dim] + [hidden] * (layers - 1) + [out_dim]
        self.layers = nn.ModuleList(make(i, o) for i, o in zip(dims[:-1], dims[1:], strict=True))
        self.norms = nn.ModuleList(nn.BatchNorm1d(hidden) for _ in range(layers - 1))
        self.dropout = dropout

    def forward(self, x: torch.Tensor, adj: torch.Tensor | None = None) -> torch.Tensor:
        for layer, norm in zip(self.layers[:-1], self.norms, strict=True):
            x = F.dropout(norm(layer(x, adj)).relu(), self.dropout, self.training)
        return self.layers[-1](x, adj)


def run(cfg: Any, out_dir: Path, device: torch.device) -> dict[str, float]:
    """``iclr run method=giant_xrt_ogb dataset=ogbn_arxiv_giant``: train on the given features
    (the released GIANT embeddings), return the best-validation epoch's metrics."""
    from iclr.methods.common.node_task import load_node_task
    from iclr.methods.common.node_training import fit_node_classifier

    m = cfg.method
    task = load_node_task(cfg, sparse_features=False).to(device)
    x = task.x.to_dense() if task.x.is_sparse or task.x.is_sparse_csr else task.x
    model = BatchNormClassifier(
        str(m.architecture),
        x.shape[1],
        int(m.hidden),
        task.num_classes,
        int(m.layers),
        float(m.dropout),
    ).to(device)
    train_adj, eval_adj = task.propagation(model.propagation) if model.propagation else (None, None)
    return fit_node_classifier(
        model,
        lambda: model(x, train_adj if model.training else eval_adj),
        task,
        torch.optim.Adam(model.parameters(), lr=float(m.lr)),
        epochs=int(m.epochs),
        patience=None,
        history_path=out_dir / "history.csv",
        label=f"{m.name} ({m.architecture}) on {cfg.dataset.name}",
    )
