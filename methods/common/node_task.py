"""A node-classification task as every graph method sees it: features, labels, masks, the graph
to train and test on, and optional structural groups (Cold Brew's head / tail / isolation).

``split.rule: none`` keeps the dataset's own split and graph. A structural rule (``paper`` or
``repo``, built by the split config's ``builder``, e.g. Cold Brew's) removes every edge of the
isolated nodes from the graph used for training *and* testing, and evaluates on every node
outside train ∪ validation:
``test_acc`` is the accuracy over those nodes and ``acc_<group>`` over those of each group.
Train and validation nodes are the dataset's public ones (``split.labels: public``) or, as in
the official Cold Brew code, the first ``train_nodes`` nodes with the next ``val_nodes`` for
validation (``split.labels: first``).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

import torch

from iclr.data import load_dataset
from iclr.methods.baselines.sparse import as_csr, propagation_matrix
from iclr.methods.common.graph_stats import homophily
from iclr.methods.common.metrics import accuracy


@dataclass
class NodeTask:
    """Tensors of one node-classification run (on one device).

    ``edge_index`` is the graph models are evaluated on; ``train_edge_index`` the one they train
    on (the same unless isolated nodes keep their edges in training, ``split.isolate=test``).
    """

    x: torch.Tensor
    y: torch.Tensor
    edge_index: torch.Tensor
    num_classes: int
    masks: dict[str, torch.Tensor]
    groups: dict[str, torch.Tensor] = field(default_factory=dict)
    stats: dict[str, float] = field(default_factory=dict)
    train_edge_index: torch.Tensor | None = None

    def propagation(self, kind: str) -> tuple[torch.Tensor, torch.Tensor]:
        """(training, evaluation) propagation matrices of ``kind`` (see ``propagation_matrix``);
        one shared matrix when the two graphs are the same."""
        evaluation = propagation_matrix(self.edge_index, self.num_nodes, kind)
        if self.train_edge_index is None:
            return evaluation, evaluation
        return propagation_matrix(self.train_edge_index, self.num_nodes, kind), evaluation

    @property
    def num_nodes(self) -> int:
        return self.y.numel()

    def evaluate(self, logits: torch.Tensor) -> dict[str, float]:
        """Accuracy on train / val / test nodes and on the test nodes of each group."""
        out = {f"{s}_acc": accuracy(logits[m], self.y[m]) for s, m in self.masks.items()}
        test = self.masks["test"]
        for name, group in self.groups.items():
            out[f"acc_{name}"] = accuracy(logits[test & group], self.y[test & group])
        return out

    def to(self, device: torch.device) -> NodeTask:
        """The same task on ``device``."""
        move = {k: v.to(device) for k, v in self.masks.items()}
        return NodeTask(
            self.x.to(device),
            self.y.to(device),
            self.edge_index.to(device),
            self.num_classes,
            move,
            {k: v.to(device) for k, v in self.groups.items()},
            dict(self.stats),
            None if self.train_edge_index is None else self.train_edge_index.to(device),
        )


def load_node_task(cfg: Any, sparse_features: bool = True) -> NodeTask:
    """Load ``cfg.dataset`` and apply ``cfg.split`` (none, or a head/tail/isolation rule)."""
    data = load_dataset(cfg.dataset, cfg.paths.data_dir, cfg.paths.mirror)
    x = as_csr(data.x) if sparse_features else data.x
    if cfg.dataset.get("split") == "stratified":
        # datasets without a public split (e.g. citeseer_tag): a stratified split fixed per seed
        from iclr.methods.common.stratified_split import stratified_masks

        masks = stratified_masks(data.y, cfg.dataset.split_fractions, seed=int(cfg.seed))
    else:
        masks = {s: getattr(data, f"{s}_mask") for s in ("train", "val", "test")}
    split = cfg.get("split") or {}
    rule = split.get("rule", "none")
    # β of the whole graph, before any edge is removed (Cold Brew's Table 2 reports it).
    stats = {"homophily": homophily(data.edge_index, data.y, data.num_nodes)}
    if rule == "none":
        return NodeTask(x, data.y, data.edge_index, data.num_classes, masks, stats=stats)

    # The rule's implementation is named by the split config (a paper's own module), so this
    # shared helper never imports a paper package.
    module_name, _, function = str(split.builder).partition(":")
    make_split = getattr(importlib.import_module(module_name), function)
    structural = make_split(
        rule,
        data.edge_index,
        data.num_nodes,
        fraction=split.get("fraction", 0.1),
        seed=int(cfg.seed),
    )
    if split.get("labels", "public") == "first":
        # The official code trains on Cora's first 600 nodes; it has no validation set, so ours
        # takes the next ``val_nodes`` for model selection.
        order = torch.arange(data.num_nodes)
        n_train, n_val = int(split.train_nodes), int(split.val_nodes)
        masks["train"] = order < n_train
        masks["val"] = (order >= n_train) & (order < n_train + n_val)
    masks["test"] = ~(masks["train"] | masks["val"])
    groups = {"head": structural.head, "tail": structural.tail, "isolation": structural.isolated}
    stats.update({f"size_{name}": float(mask.sum()) for name, mask in groups.items()})
    stats["removed_edges"] = float(structural.removed_edges)
    train_graph = data.edge_index if split.get("isolate") == "test" else None
    return NodeTask(
        x, data.y, structural.edge_index, data.num_classes, masks, groups, stats, train_graph
    )
