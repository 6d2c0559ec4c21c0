"""Full-batch training with best-validation selection, shared by every node classifier."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from iclr.methods.common.history import History
from iclr.methods.common.node_task import NodeTask
from iclr.methods.common.progress import epoch_progress
from iclr.methods.common.selection import BestEpoch


def fit_node_classifier(
    model: nn.Module,
    forward: Callable[[], torch.Tensor],
    task: NodeTask,
    optimizer: torch.optim.Optimizer,
    epochs: int,
    patience: int | None,
    history_path: Path,
    label: str,
    extra_loss: Callable[[torch.Tensor], torch.Tensor] | None = None,
    restore_best: bool = False,
) -> dict[str, float]:
    """Train ``model`` (``forward()`` returns logits for every node) by cross-entropy on the
    training nodes plus ``extra_loss(logits)``; return the metrics of the epoch with the best
    validation accuracy (ties: lower validation loss), with ``best_epoch`` and timings.

    ``restore_best`` leaves the model with the weights of that epoch (e.g. a teacher that is
    distilled next)."""
    train, val = task.masks["train"], task.masks["val"]
    best = BestEpoch(patience=patience)
    train_seconds, epoch = 0.0, -1
    with History(history_path) as history, epoch_progress(epochs, label) as advance:
        for epoch in range(epochs):
            start = time.perf_counter()
            model.train()
            optimizer.zero_grad()
            logits = forward()
            loss = F.cross_entropy(logits[train], task.y[train])
            if extra_loss is not None:
                loss = loss + extra_loss(logits)
            loss.backward()
            optimizer.step()
            train_seconds += time.perf_counter() - start

            model.eval()
            with torch.no_grad():
                logits = forward()
                val_loss = F.cross_entropy(logits[val], task.y[val]).item()
                metrics = task.evaluate(logits)
            best.update(
                epoch,
                (metrics["val_acc"], -val_loss),
                {**metrics, "val_loss": val_loss},
                model if restore_best else None,
            )
            history.write(epoch=epoch, train_loss=loss.item(), val_loss=val_loss, **metrics)
            advance(loss=loss.item(), val_acc=metrics["val_acc"])
            if best.should_stop:
                break
    best.restore(model)
    return {
        **best.best_metrics,
        **task.stats,
        "best_epoch": best.best_epoch,
        "epochs_run": epoch + 1,
        "train_ms_per_epoch": 1000 * train_seconds / max(epoch + 1, 1),
    }
