"""Train and evaluate a full-batch node classifier (MLP, GCN, GraphSAGE) on one graph split."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from iclr.methods.baselines.models import NodeClassifier
from iclr.methods.baselines.sparse import propagation_matrix
from iclr.methods.common.node_task import load_node_task
from iclr.methods.common.node_training import fit_node_classifier


def _optimizer(model: NodeClassifier, cfg: Any) -> torch.optim.Optimizer:
    # Kipf & Welling regularise the first layer only; later layers get no weight decay.
    if cfg.get("weight_decay_first_layer_only", False):
        rest = [p for layer in model.layers[1:] for p in layer.parameters()]
        groups = [
            {"params": model.layers[0].parameters(), "weight_decay": cfg.weight_decay},
            {"params": rest, "weight_decay": 0.0},
        ]
    else:
        groups = [{"params": model.parameters(), "weight_decay": cfg.weight_decay}]
    return torch.optim.Adam(groups, lr=cfg.lr)


def run(cfg: Any, out_dir: Path, device: torch.device) -> dict[str, float]:
    """Train on the training nodes, select the best-validation epoch, report its test accuracy."""
    m = cfg.method
    task = load_node_task(cfg, sparse_features=m.get("sparse_features", True)).to(device)
    model = NodeClassifier(
        m.architecture, task.x.shape[1], m.hidden, task.num_classes, m.layers, m.dropout
    ).to(device)
    adj = (
        propagation_matrix(task.edge_index, task.num_nodes, model.propagation).to(device)
        if model.propagation
        else None
    )
    return fit_node_classifier(
        model,
        lambda: model(task.x, adj),
        task,
        _optimizer(model, m),
        epochs=m.epochs,
        patience=m.get("patience"),
        history_path=out_dir / "history.csv",
        label=f"{m.name} on {cfg.dataset.name}",
    )
