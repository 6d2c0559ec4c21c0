"""Cold Brew end to end: teacher GCN + structural embedding, then the student MLP.

Entry points: ``run_teacher`` (method ``gcn_se``: the teacher, or the plain GCN baseline with
``method.se_layers=none``) and ``run`` (method ``coldbrew``: teacher, student part 1, virtual
neighbours, student part 2). Every model is selected on validation accuracy; group accuracies
are measured on the evaluation nodes of each group (see ``iclr.methods.common.node_task``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from iclr.methods.baselines.models import NodeClassifier
from iclr.methods.coldbrew.student import StudentHead, virtual_neighbours
from iclr.methods.coldbrew.teacher import SEGCN
from iclr.methods.common.history import History
from iclr.methods.common.node_task import NodeTask, load_node_task
from iclr.methods.common.node_training import fit_node_classifier
from iclr.methods.common.progress import epoch_progress
from iclr.methods.common.selection import BestEpoch


def se_penalty(model: SEGCN, kind: str) -> torch.Tensor:
    """η's multiplicand: ‖E‖² summed over layers (paper, Sec. 5) or ‖E‖ (official code)."""
    if kind == "squared":
        return model.structural_penalty()
    if kind == "norm":
        return sum((p.norm() for p in model.structural_embeddings()), torch.tensor(0.0))
    raise ValueError(f"unknown se_penalty_kind {kind!r}; use 'squared' or 'norm'")


def train_teacher(
    t: Any, task: NodeTask, out_dir: Path, device: torch.device, label: str
) -> tuple[SEGCN, torch.Tensor, dict[str, float]]:
    """Train the teacher (config ``t``); return it at its best-validation epoch, Ã, metrics."""
    model = SEGCN(
        task.x.shape[1],
        t.hidden,
        task.num_classes,
        task.num_nodes,
        layers=t.layers,
        dropout=t.dropout,
        se_layers=t.se_layers,
        residual=t.residual,
        norm=t.norm,
        se_init_std=t.se_init_std,
    ).to(device)
    train_adj, adj = task.propagation("gcn")
    optimizer = torch.optim.Adam(model.parameters(), lr=t.lr, weight_decay=t.weight_decay)
    eta = float(t.se_penalty)
    extra = None
    if eta > 0 and t.se_layers != "none":

        def extra(_logits: torch.Tensor) -> torch.Tensor:
            return eta * se_penalty(model, t.se_penalty_kind)

    metrics = fit_node_classifier(
        model,
        lambda: model(task.x, train_adj if model.training else adj),
        task,
        optimizer,
        epochs=t.epochs,
        patience=t.get("patience"),
        history_path=out_dir / "history_teacher.csv",
        label=label,
        extra_loss=extra,
        restore_best=True,
    )
    return model, adj, metrics


def run_teacher(cfg: Any, out_dir: Path, device: torch.device) -> dict[str, float]:
    """Method ``gcn_se``: the teacher alone, evaluated like every other node classifier."""
    task = load_node_task(cfg).to(device)
    _, _, metrics = train_teacher(
        cfg.method, task, out_dir, device, f"{cfg.method.name} on {cfg.dataset.name}"
    )
    return metrics


def teacher_targets(model: SEGCN, task: NodeTask, adj: torch.Tensor, target: str) -> torch.Tensor:
    """Ē: the teacher's final output, or the concatenation of every layer's E + XW."""
    model.eval()
    with torch.no_grad():
        logits, layers = model.forward_with_layers(task.x, adj)
    if target == "final":
        return logits
    if target == "concat":
        return torch.cat(layers, dim=1)
    raise ValueError(f"unknown student target {target!r}; use 'final' or 'concat'")


def fit_embedding_mlp(
    s: Any, task: NodeTask, targets: torch.Tensor, fit_mask: torch.Tensor, out_dir: Path
) -> NodeClassifier:
    """Student part 1 (ξ1): regress Ē from features by MSE on ``fit_mask`` nodes; select the
    epoch with the lowest MSE on the validation nodes that have a target."""
    mlp = NodeClassifier("mlp", task.x.shape[1], s.hidden, targets.shape[1], s.layers, s.dropout)
    mlp = mlp.to(targets.device)
    optimizer = torch.optim.Adam(mlp.parameters(), lr=s.lr, weight_decay=s.weight_decay)
    train = fit_mask & ~task.masks["val"]
    val = fit_mask & task.masks["val"]
    best = BestEpoch(patience=s.get("patience"))
    with (
        History(out_dir / "history_student_part1.csv") as history,
        epoch_progress(s.epochs, "student part 1") as advance,
    ):
        for epoch in range(s.epochs):
            mlp.train()
            optimizer.zero_grad()
            loss = F.mse_loss(mlp(task.x)[train], targets[train])
            loss.backward()
            optimizer.step()
            mlp.eval()
            with torch.no_grad():
                val_mse = F.mse_loss(mlp(task.x)[val], targets[val]).item()
            best.update(epoch, (-val_mse,), {"part1_val_mse": val_mse}, mlp)
            history.write(epoch=epoch, train_mse=loss.item(), val_mse=val_mse)
            advance(mse=loss.item(), val_mse=val_mse)
            if best.should_stop:
                break
    best.restore(mlp)
    mlp.eval()
    return mlp


def run(cfg: Any, out_dir: Path, device: torch.device) -> dict[str, float]:
    """Method ``coldbrew``: teacher, then the student; returns the student's metrics (and the
    teacher's, prefixed ``teacher_``)."""
    m = cfg.method
    task = load_node_task(cfg).to(device)
    teacher, adj, teacher_metrics = train_teacher(
        m.teacher, task, out_dir, device, f"teacher on {cfg.dataset.name}"
    )
    s = m.student
    targets = teacher_targets(teacher, task, adj, s.target)
    isolated = task.groups.get("isolation", torch.zeros_like(task.y, dtype=torch.bool))
    if s.fit_on == "non_isolated":
        fit_mask = ~isolated
    elif s.fit_on == "train":
        fit_mask = task.masks["train"] | task.masks["val"]
    else:
        raise ValueError(f"unknown student.fit_on {s.fit_on!r}; use 'non_isolated' or 'train'")
    embedder = fit_embedding_mlp(s.part1, task, targets, fit_mask, out_dir)
    with torch.no_grad():
        own = embedder(task.x)
    candidates = torch.arange(task.num_nodes, device=device)
    if s.candidates == "non_isolated":
        candidates = candidates[~isolated]
    elif s.candidates != "all":
        raise ValueError(
            f"unknown student.candidates {s.candidates!r}; use 'non_isolated' or 'all'"
        )
    virtual = virtual_neighbours(
        own,
        targets[candidates],
        s.k,
        query_ids=torch.arange(task.num_nodes, device=device),
        key_ids=candidates,
    )
    head = StudentHead(
        task.x.shape[1], targets.shape[1], s.hidden, task.num_classes, s.layers, s.dropout, s.input
    ).to(device)
    optimizer = torch.optim.Adam(head.parameters(), lr=s.lr, weight_decay=s.weight_decay)
    metrics = fit_node_classifier(
        head,
        lambda: head(task.x, virtual, own),
        task,
        optimizer,
        epochs=s.epochs,
        patience=s.get("patience"),
        history_path=out_dir / "history.csv",
        label=f"student on {cfg.dataset.name}",
    )
    return {
        **metrics,
        **{
            f"teacher_{k}": v
            for k, v in teacher_metrics.items()
            if k.endswith("acc") or k.startswith("acc_")
        },
    }
