"""Entry points of Cold Brew's baselines that are not plain node classifiers: GraphMLP (trained
with its neighbour-contrastive loss) and labels-only label propagation (no training)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from iclr.methods.coldbrew.graphmlp import GraphMLP, ncontrast_loss, neighbour_adjacency
from iclr.methods.coldbrew.label_propagation import label_propagation
from iclr.methods.common.node_task import load_node_task
from iclr.methods.common.node_training import fit_node_classifier


def run_graphmlp(cfg: Any, out_dir: Path, device: torch.device) -> dict[str, float]:
    """GraphMLP (Hu et al., 2021): an MLP whose hidden layer is pulled towards its r-hop
    neighbours' by a contrastive loss on random node batches; no message passing at inference."""
    m = cfg.method
    task = load_node_task(cfg).to(device)
    model = GraphMLP(task.x.shape[1], m.hidden, task.num_classes, m.dropout).to(device)
    train_graph = task.edge_index if task.train_edge_index is None else task.train_edge_index
    target = neighbour_adjacency(train_graph, task.num_nodes, m.hops).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=m.lr, weight_decay=m.weight_decay)
    generator = torch.Generator(device="cpu").manual_seed(int(cfg.seed))
    embedding: dict[str, torch.Tensor] = {}

    def forward() -> torch.Tensor:
        logits, embedding["z"] = model(task.x)
        return logits

    def contrastive(_logits: torch.Tensor) -> torch.Tensor:
        batch = torch.randperm(task.num_nodes, generator=generator)[: m.batch_size].to(device)
        return m.alpha * ncontrast_loss(embedding["z"], target, batch, tau=m.tau)

    return fit_node_classifier(
        model,
        forward,
        task,
        optimizer,
        epochs=m.epochs,
        patience=m.get("patience"),
        history_path=out_dir / "history.csv",
        label=f"graphmlp on {cfg.dataset.name}",
        extra_loss=contrastive,
    )


def run_label_propagation(cfg: Any, out_dir: Path, device: torch.device) -> dict[str, float]:
    """Labels-only label propagation (the "LP" of Cold Brew's FCR): no features, no training."""
    m = cfg.method
    task = load_node_task(cfg).to(device)
    scores = label_propagation(
        task.edge_index,
        task.num_nodes,
        task.y,
        task.masks["train"],
        task.num_classes,
        iterations=m.iterations,
        alpha=m.alpha,
        matrix=m.matrix,
    )
    return {**task.evaluate(scores), **task.stats}
