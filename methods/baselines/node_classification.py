"""Train and evaluate a full-batch node classifier (MLP, GCN, GraphSAGE) on one graph split."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from iclr.methods.baselines.models import NodeClassifier
from iclr.methods.common.node_task import load_node_task
from iclr.methods.common.node_training import fit_node_classifier


def make_optimizer(model: NodeClassifier, cfg: Any) -> torch.optim.Optimizer:
    """Adam over the model, with weight decay on every layer or on the first only."""
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
    train_adj, eval_adj = task.propagation(model.propagation) if model.propagation else (None, None)
    return fit_node_classifier(
        model,
        lambda: model(task.x, train_adj if model.training else eval_adj),
        task,
        make_optimizer(model, m),
        epochs=m.epochs,
        patience=m.get("patience"),
        history_path=out_dir / "history.csv",
        label=f"{m.name} on {cfg.dataset.name}",
    )
