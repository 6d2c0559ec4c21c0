"""Stage 3: XR-Transformer-style fine-tuning, level by level, coarse clusters to neighbours.

Follows ``pecos.xmc.xtransformer`` (TransformerMatcher): at level t a linear XMC head over the
clusters of that level sits on the shared text encoder; both are trained with the squared hinge
loss (margin 1, labels in {-1, +1}) averaged over the *active* clusters of each node, with
teacher-forcing negatives ("tfn": the children of the clusters of the level above that hold one
of the node's neighbours) and optionally matcher-aware negatives ("man": the children of the
top-k clusters the previous level's head predicts). The encoder carries over from level to
level. The head of a finer level starts either from its parent's weights (``bootstrap:
inherit``, PECOS's "inherit", the CPU profile's choice: no extra pass over the corpus) or from
a linear XMC model fitted by PECOS on the current encoder's embeddings of the training nodes
(``bootstrap: linear``, PECOS's default, the paper profile's). ``levels: finest`` is the
single-scale ablation: only the neighbour level, all labels active, for the same total number
of epochs.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from iclr.methods.baselines.sparse import dropout
from iclr.methods.giant_xrt.encoders import TextEncoder
from iclr.methods.giant_xrt.label_tree import LabelTree

LOG = logging.getLogger(__name__)


@dataclass
class LevelLog:
    """What one level's training did: size, epochs, mean loss of each epoch, seconds."""

    level: int
    clusters: int
    epochs: int
    seconds: float = 0.0
    losses: list[float] = field(default_factory=list)


def squared_hinge(logits: torch.Tensor, positive: torch.Tensor, active: torch.Tensor):
    """Mean over nodes of the mean squared hinge over each node's active clusters."""
    signs = 2.0 * positive - 1.0
    loss = torch.relu(1.0 - signs * logits).pow(2) * active
    return (loss.sum(1) / active.sum(1).clamp_min(1.0)).mean()


def active_clusters(
    level: int,
    tree: LabelTree,
    rows: np.ndarray,
    embedding: torch.Tensor,
    parent_head: nn.Linear | None,
    negatives: str,
    only_topk: int,
) -> torch.Tensor:
    """(B, size of level) 0/1 mask of the clusters the loss looks at for these tree rows."""
    size = tree.level_sizes[level]
    if parent_head is None:  # the top level, or the single-scale ablation: every cluster
        return torch.ones(len(rows), size, device=embedding.device)
    parents = torch.from_numpy(tree.parents[level]).to(embedding.device)
    parent_positive = dense_rows(tree, level - 1, rows, embedding.device)
    chosen = parent_positive  # tfn: the children of the parents that hold a neighbour
    if "man" in negatives:
        with torch.no_grad():
            scores = parent_head(embedding.detach())
        k = min(only_topk, scores.shape[1])
        top = torch.zeros_like(scores).scatter_(1, scores.topk(k, dim=1).indices, 1.0)
        chosen = torch.maximum(chosen, top)
    return chosen[:, parents]


def dense_rows(tree: LabelTree, level: int, rows: np.ndarray, device: torch.device):
    """Dense 0/1 targets of ``rows`` at ``level``."""
    return torch.from_numpy(tree.targets[level][rows].toarray()).to(device)


def train_level_by_level(
    encoder: TextEncoder,
    tree: LabelTree,
    cfg: Any,
    seed: int,
    device: torch.device,
    progress: Any = None,
) -> list[LevelLog]:
    """Fine-tune ``encoder`` on the tree's levels (coarse to fine, or the finest only)."""
    num_levels = len(tree.targets)
    if cfg.levels == "multiscale":
        plan = [(t, int(cfg.epochs_per_level)) for t in range(num_levels)]
    elif cfg.levels == "finest":
        plan = [(num_levels - 1, int(cfg.epochs_per_level) * num_levels)]
    else:
        raise ValueError(f"unknown levels {cfg.levels!r}; use 'multiscale' or 'finest'")
    generator = np.random.default_rng(seed)
    # Nodes without neighbours have nothing to predict (their targets are empty at every level).
    has_labels = np.diff(tree.targets[-1].indptr) > 0
    row_of_node = np.full(int(tree.train_nodes.max()) + 1, -1)
    row_of_node[tree.train_nodes] = np.arange(tree.train_nodes.size)
    nodes = tree.train_nodes[has_labels]
    logs, parent_head = [], None
    for level, epochs in plan:
        head = nn.Linear(encoder.dim, tree.level_sizes[level]).to(device)
        bootstrap = str(cfg.get("bootstrap", "inherit"))
        if parent_head is not None and bootstrap == "linear":
            linear_bootstrap(encoder, head, tree, level, nodes, row_of_node, cfg)
        elif parent_head is not None and bootstrap == "inherit":
            with torch.no_grad():  # children start from their parent's weights
                index = torch.from_numpy(tree.parents[level]).to(device)
                head.weight.copy_(parent_head.weight[index])
                head.bias.copy_(parent_head.bias[index])
        elif parent_head is not None:
            raise ValueError(f"unknown bootstrap {bootstrap!r}; use 'inherit' or 'linear'")
        log = fit_level(
            encoder,
            head,
            parent_head,
            tree,
            level,
            epochs,
            nodes,
            row_of_node,
            cfg,
            generator,
            device,
            progress,
        )
        logs.append(log)
        parent_head = head.requires_grad_(False)
    return logs


def embed_nodes(encoder: TextEncoder, nodes: np.ndarray, batch_size: int) -> np.ndarray:
    """(len(nodes), dim) float32 embeddings of ``nodes``, in their order (evaluation mode)."""
    out = np.empty((nodes.size, encoder.dim), dtype=np.float32)
    position = np.empty(int(nodes.max()) + 1, dtype=np.int64)  # node id -> row of ``out``
    position[nodes] = np.arange(nodes.size)
    encoder.eval()
    with torch.inference_mode():
        for batch_nodes, inputs in encoder.batches(nodes, batch_size, None):
            out[position[np.asarray(batch_nodes)]] = encoder(inputs).float().cpu().numpy()
    encoder.train()
    return out


def linear_bootstrap(
    encoder: TextEncoder,
    head: nn.Linear,
    tree: LabelTree,
    level: int,
    nodes: np.ndarray,
    row_of_node: np.ndarray,
    cfg: Any,
) -> None:
    """PECOS's ``bootstrap_method="linear"``: fit a linear XMC model (``MLModel``, squared-hinge
    SVM per cluster, Cp = Cn = 100, no sparsification, as ``TransformerLinearXMCHead.bootstrap``)
    on the current embeddings, restricted to the children of each node's positive parents,
    and start the head from it."""
    from pecos.xmc.base import MLModel, MLProblem

    rows = row_of_node[nodes]
    embedding = embed_nodes(encoder, nodes, int(cfg.embed_batch_size))
    parents = tree.parents[level]
    clusters = sp.csc_matrix(
        (np.ones(parents.size, dtype=np.float32), (np.arange(parents.size), parents)),
        shape=(parents.size, tree.level_sizes[level - 1]),
    )
    problem = MLProblem(
        embedding,
        sp.csc_matrix(tree.targets[level][rows]),
        C=clusters,
        M=sp.csc_matrix(tree.targets[level - 1][rows]),
        threads=1,
    )
    weights = MLModel.train(problem, threshold=0.0, Cp=100.0, Cn=100.0, threads=1).W
    weights = torch.from_numpy(np.asarray(weights.toarray().T, dtype=np.float32))
    with torch.no_grad():  # the last column multiplies PECOS's bias feature (1.0)
        head.weight.copy_(weights[:, :-1])
        head.bias.copy_(weights[:, -1])


def fit_level(
    encoder: TextEncoder,
    head: nn.Linear,
    parent_head: nn.Linear | None,
    tree: LabelTree,
    level: int,
    epochs: int,
    nodes: np.ndarray,
    row_of_node: np.ndarray,
    cfg: Any,
    generator: np.random.Generator,
    device: torch.device,
    progress: Any,
) -> LevelLog:
    """One level: AdamW (encoder and head learning rates), linear decay, gradient clipping."""
    optimizer = torch.optim.AdamW(
        [
            {"params": encoder.parameters(), "lr": float(cfg.lr_encoder)},
            {"params": head.parameters(), "lr": float(cfg.lr_head)},
        ],
        weight_decay=float(cfg.weight_decay),
    )
    steps = epochs * -(-nodes.size // int(cfg.batch_size))
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: max(0.0, 1.0 - s / steps))
    log = LevelLog(level, tree.level_sizes[level], epochs)
    start = time.perf_counter()
    encoder.train()
    for epoch in range(epochs):
        total, count = 0.0, 0
        for batch_nodes, inputs in encoder.batches(nodes, int(cfg.batch_size), generator):
            rows = row_of_node[batch_nodes]
            embedding = dropout(encoder(inputs), float(cfg.head_dropout), True)
            active = active_clusters(
                level, tree, rows, embedding, parent_head, str(cfg.negatives), int(cfg.only_topk)
            )
            loss = squared_hinge(head(embedding), dense_rows(tree, level, rows, device), active)
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(
                [*encoder.parameters(), *head.parameters()], float(cfg.max_grad_norm)
            )
            optimizer.step()
            schedule.step()
            total, count = total + loss.item() * len(rows), count + len(rows)
            if progress is not None:
                progress(level=level, epoch=epoch, loss=loss.item())
        log.losses.append(total / max(count, 1))
        LOG.info("level %d epoch %d: loss %.4f", level, epoch, log.losses[-1])
    log.seconds = time.perf_counter() - start
    return log
