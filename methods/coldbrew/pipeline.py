"""Cold Brew end to end: teacher GCN + structural embedding, then the student MLP.

Entry points: ``run_teacher`` (method ``gcn_se``: the teacher, or the plain GCN baseline with
``method.se_layers=none``) and ``run`` (method ``coldbrew``: teacher, student part 1, virtual
neighbours, student part 2). Every model is selected on validation accuracy; group accuracies
are measured on the evaluation nodes of each group (see ``iclr.methods.common.node_task``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from iclr.methods.baselines.models import NodeClassifier
from iclr.methods.coldbrew.link_prediction import LinkTask, fit_link_model, load_link_task
from iclr.methods.coldbrew.student import StudentHead, virtual_neighbours
from iclr.methods.coldbrew.teacher import SEGCN
from iclr.methods.common.history import History
from iclr.methods.common.node_task import NodeTask, load_node_task
from iclr.methods.common.node_training import fit_node_classifier
from iclr.methods.common.progress import epoch_progress
from iclr.methods.common.selection import BestEpoch


def se_penalty(model: SEGCN, kind: str) -> torch.Tensor:
    """η's multiplicand: ‖E‖² summed over layers (paper, Sec. 5) or ‖E‖ (official code).

    ``kind`` is ``squared`` or ``norm`` (the config's options, checked before a job runs)."""
    if kind == "squared":
        return model.structural_penalty()
    return sum((p.norm() for p in model.structural_embeddings()), torch.tensor(0.0))


def _penalty(model: SEGCN, t: Any) -> Callable[..., torch.Tensor] | None:
    """The SE penalty term η·‖E‖ as an extra loss, or None without SE or with η = 0."""
    eta = float(t.se_penalty)
    if eta <= 0 or t.se_layers == "none":
        return None

    def extra(*_: Any) -> torch.Tensor:
        return eta * se_penalty(model, t.se_penalty_kind)

    return extra


def _make_teacher(t: Any, task: NodeTask | LinkTask, out_dim: int, device: torch.device) -> SEGCN:
    """The teacher network of config ``t`` (width ``out_dim`` at its last layer)."""
    return SEGCN(
        task.x.shape[1],
        t.hidden,
        out_dim,
        task.num_nodes,
        layers=t.layers,
        dropout=t.dropout,
        se_layers=t.se_layers,
        residual=t.residual,
        norm=t.norm,
        se_init_std=t.se_init_std,
    ).to(device)


def train_teacher(
    t: Any,
    task: NodeTask,
    out_dir: Path,
    device: torch.device,
    label: str,
    history: str = "history_teacher.csv",
) -> tuple[SEGCN, torch.Tensor, dict[str, float]]:
    """Train the teacher (config ``t``); return it at its best-validation epoch, Ã, metrics.
    Its per-epoch curve goes to ``out_dir / history``."""
    model = _make_teacher(t, task, task.num_classes, device)
    train_adj, adj = task.propagation("gcn")
    optimizer = torch.optim.Adam(model.parameters(), lr=t.lr, weight_decay=t.weight_decay)
    metrics = fit_node_classifier(
        model,
        lambda: model(task.x, train_adj if model.training else adj),
        task,
        optimizer,
        epochs=t.epochs,
        patience=t.get("patience"),
        history_path=out_dir / history,
        label=label,
        extra_loss=_penalty(model, t),
        restore_best=True,
    )
    return model, adj, metrics


def train_link_teacher(
    t: Any,
    task: LinkTask,
    link: Any,
    out_dir: Path,
    device: torch.device,
    label: str,
    seed: int,
    history: str = "history_teacher.csv",
) -> tuple[SEGCN, torch.Tensor, dict[str, float]]:
    """The teacher with the link loss instead of cross-entropy (Table 4); embeddings of width
    ``link.dim``; selected on validation MRR."""
    model = _make_teacher(t, task, int(link.dim), device)
    adj, _ = task.propagation("gcn")
    optimizer = torch.optim.Adam(model.parameters(), lr=t.lr, weight_decay=t.weight_decay)
    metrics = fit_link_model(
        model,
        lambda: model(task.x, adj),
        task,
        optimizer,
        link,
        epochs=t.epochs,
        patience=t.get("patience"),
        history_path=out_dir / history,
        label=label,
        seed=seed,
        extra_loss=_penalty(model, t),
    )
    return model, adj, metrics


def run_teacher(cfg: Any, out_dir: Path, device: torch.device) -> dict[str, float]:
    """Method ``gcn_se``: the teacher alone, evaluated like every other node classifier."""
    label = f"{cfg.method.name} on {cfg.dataset.name}"
    task = load_node_task(cfg).to(device)
    _, _, metrics = train_teacher(cfg.method, task, out_dir, device, label, "history.csv")
    return metrics


def run_teacher_link(cfg: Any, out_dir: Path, device: torch.device) -> dict[str, float]:
    """Method ``gcn_se_link``: the teacher trained with the link loss and scored by the MRR of
    the isolated nodes' deleted edges (Table 4; ``method.se_layers=none``: "GCN 2 layers")."""
    task = load_link_task(cfg).to(device)
    label = f"{cfg.method.name} on {cfg.dataset.name}"
    _, _, metrics = train_link_teacher(
        cfg.method, task, cfg.method.link, out_dir, device, label, int(cfg.seed), "history.csv"
    )
    return metrics


def teacher_targets(model: SEGCN, task: NodeTask, adj: torch.Tensor, target: str) -> torch.Tensor:
    """Ē: the teacher's final output, or the concatenation of every layer's E + XW."""
    model.eval()
    with torch.no_grad():
        logits, layers = model.forward_with_layers(task.x, adj)
    return logits if target == "final" else torch.cat(layers, dim=1)


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


def student_inputs(
    s: Any,
    task: NodeTask | LinkTask,
    teacher: SEGCN,
    adj: torch.Tensor,
    out_dir: Path,
    fit_on: str,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Student part 1 and the virtual neighbourhoods: (Ē, ê = ξ1(x), ẽ) for every node."""
    device = task.x.device
    targets = teacher_targets(teacher, task, adj, s.target)
    isolated = _isolated(task)
    fit_mask = ~isolated if fit_on == "non_isolated" else task.masks["train"] | task.masks["val"]
    embedder = fit_embedding_mlp(s.part1, task, targets, fit_mask, out_dir)
    with torch.no_grad():
        own = embedder(task.x)
    candidates = torch.arange(task.num_nodes, device=device)
    if s.candidates == "non_isolated":
        candidates = candidates[~isolated]
    virtual = virtual_neighbours(
        own,
        targets[candidates],
        s.k,
        query_ids=torch.arange(task.num_nodes, device=device),
        key_ids=candidates,
    )
    return targets, own, virtual


def _isolated(task: NodeTask | LinkTask) -> torch.Tensor:
    if isinstance(task, LinkTask):
        return task.isolated
    return task.groups.get("isolation", torch.zeros_like(task.y, dtype=torch.bool))


def run(cfg: Any, out_dir: Path, device: torch.device) -> dict[str, float]:
    """Method ``coldbrew``: teacher, then the student; returns the student's metrics (and the
    teacher's, prefixed ``teacher_``)."""
    m = cfg.method
    task = load_node_task(cfg).to(device)
    teacher, adj, teacher_metrics = train_teacher(
        m.teacher, task, out_dir, device, f"teacher on {cfg.dataset.name}"
    )
    s = m.student
    targets, own, virtual = student_inputs(s, task, teacher, adj, out_dir, s.fit_on)
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


def run_link(cfg: Any, out_dir: Path, device: torch.device) -> dict[str, float]:
    """Method ``coldbrew_link`` (Table 4): teacher and student trained with the link loss
    instead of cross-entropy; the teacher's embeddings are distilled into the student, whose ξ2
    outputs link embeddings (ξ1 is fitted on the non-isolated nodes: there are no labels)."""
    m, seed = cfg.method, int(cfg.seed)
    task = load_link_task(cfg).to(device)
    teacher, adj, teacher_metrics = train_link_teacher(
        m.teacher, task, m.link, out_dir, device, f"teacher on {cfg.dataset.name}", seed
    )
    s = m.student
    targets, own, virtual = student_inputs(s, task, teacher, adj, out_dir, "non_isolated")
    head = StudentHead(
        task.x.shape[1], targets.shape[1], s.hidden, int(m.link.dim), s.layers, s.dropout, s.input
    ).to(device)
    optimizer = torch.optim.Adam(head.parameters(), lr=s.lr, weight_decay=s.weight_decay)
    metrics = fit_link_model(
        head,
        lambda: head(task.x, virtual, own),
        task,
        optimizer,
        m.link,
        epochs=s.epochs,
        patience=s.get("patience"),
        history_path=out_dir / "history.csv",
        label=f"student on {cfg.dataset.name}",
        seed=seed,
    )
    return {**metrics, **{f"teacher_{k}": v for k, v in teacher_metrics.items() if "mrr" in k}}
