"""Train and evaluate a full-batch node classifier (MLP, GCN, GraphSAGE) on one graph split."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from iclr.data import load_dataset
from iclr.methods.baselines.models import NodeClassifier
from iclr.methods.baselines.sparse import as_csr, propagation_matrix
from iclr.methods.common.history import History
from iclr.methods.common.metrics import accuracy
from iclr.methods.common.progress import epoch_progress
from iclr.methods.common.selection import BestEpoch


def _optimizer(model: NodeClassifier, cfg: Any) -> torch.optim.Optimizer:
    # Kipf & Welling regularise the first layer only; later layers get no weight decay.
    if cfg.get("weight_decay_first_layer_only", False):
        groups = [
            {"params": model.layers[0].parameters(), "weight_decay": cfg.weight_decay},
            {
                "params": [p for layer in model.layers[1:] for p in layer.parameters()],
                "weight_decay": 0.0,
            },
        ]
    else:
        groups = [{"params": model.parameters(), "weight_decay": cfg.weight_decay}]
    return torch.optim.Adam(groups, lr=cfg.lr)


def run(cfg: Any, out_dir: Path, device: torch.device) -> dict[str, float]:
    """Train on the training nodes, select the best-validation epoch, report its test accuracy."""
    m = cfg.method
    data = load_dataset(cfg.dataset, cfg.paths.data_dir, cfg.paths.mirror)
    x = as_csr(data.x) if m.get("sparse_features", True) else data.x
    model = NodeClassifier(
        m.architecture, data.num_features, m.hidden, data.num_classes, m.layers, m.dropout
    ).to(device)
    adj = (
        propagation_matrix(data.edge_index, data.num_nodes, model.propagation).to(device)
        if model.propagation
        else None
    )
    x, y = x.to(device), data.y.to(device)
    masks = {s: getattr(data, f"{s}_mask").to(device) for s in ("train", "val", "test")}
    optimizer = _optimizer(model, m)
    best = BestEpoch(patience=m.get("patience"))
    train_seconds = 0.0

    with (
        History(out_dir / "history.csv") as history,
        epoch_progress(m.epochs, f"{m.name} on {cfg.dataset.name}") as advance,
    ):
        for epoch in range(m.epochs):
            start = time.perf_counter()
            model.train()
            optimizer.zero_grad()
            logits = model(x, adj)
            loss = F.cross_entropy(logits[masks["train"]], y[masks["train"]])
            loss.backward()
            optimizer.step()
            train_seconds += time.perf_counter() - start

            model.eval()
            with torch.no_grad():
                logits = model(x, adj)
                val_loss = F.cross_entropy(logits[masks["val"]], y[masks["val"]]).item()
                acc = {f"{s}_acc": accuracy(logits[mask], y[mask]) for s, mask in masks.items()}
            best.update(epoch, (acc["val_acc"], -val_loss), {**acc, "val_loss": val_loss})
            history.write(epoch=epoch, train_loss=loss.item(), val_loss=val_loss, **acc)
            advance(loss=loss.item(), val_acc=acc["val_acc"])
            if best.should_stop:
                break

    return {
        **best.best_metrics,
        "best_epoch": best.best_epoch,
        "epochs_run": epoch + 1,
        "train_ms_per_epoch": 1000 * train_seconds / (epoch + 1),
    }
