"""Stage 3: XR-Transformer-style fine-tuning, level by level, coarse clusters to neighbours.

Follows ``pecos.xmc.xtransformer`` (TransformerMatcher): at level t a linear XMC head over the
clusters of that level sits on the shared text encoder; both are trained with the squared hinge
loss (margin 1, labels in {-1, +1}) averaged over the *active* clusters of each node, with
teacher-forcing negatives ("tfn": the children of the clusters of the level above that hold one
of the node's neighbours) and optionally matcher-aware negatives ("man": the children of the
top-k clusters the previous level's head predicts). The encoder carries over from level to
level. The head of a finer level starts either from a linear XMC model fitted by PECOS on the
current encoder's embeddings of the training nodes (``bootstrap: linear``, PECOS's default) or
from its parent's weights (``bootstrap: inherit``, PECOS's option). The top level's head starts
from N(0, 0.02) (PECOS ``TransformerLinearXMCHead``). Encoder and head share one learning rate
(PECOS ``learning_rate``) with a linear warm-up and decay. ``levels: finest`` is the
single-scale ablation: only the neighbour level, all labels active, for the same total number
of epochs. After each level its final loss (evaluation mode, one pass) and the loss of the best
input-free constant per cluster (``diagnostics.bias_only_loss``) are logged: the fit check.
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
    """What one level's training did: size, epochs, steps, mean loss of each epoch, seconds,
    the final loss (evaluation mode, after the level) and the bias-only loss of the level."""

    level: int
    clusters: int
    epochs: int
    steps: int = 0
    seconds: float = 0.0
    losses: list[float] = field(default_factory=list)
    final_loss: float = float("nan")
    bias_only_loss: float = float("nan")


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
    """Fine-tune ``encoder`` on the tree's levels (coarse to fine, or the finest only); return
    each level's log and its trained head."""
    num_levels = len(tree.targets)
    epochs = int(cfg.epochs_per_level)
    # levels (multiscale | finest) is validated by the config's options block.
    plan = {
        "multiscale": [(t, epochs) for t in range(num_levels)],
        "finest": [(num_levels - 1, epochs * num_levels)],
    }[str(cfg.levels)]
    generator = np.random.default_rng(seed)
    # Nodes without neighbours have nothing to predict (their targets are empty at every level).
    has_labels = np.diff(tree.targets[-1].indptr) > 0
    row_of_node = np.full(int(tree.train_nodes.max()) + 1, -1)
    row_of_node[tree.train_nodes] = np.arange(tree.train_nodes.size)
    nodes = tree.train_nodes[has_labels]
    logs, heads, parent_head = [], [], None
    for level, epochs in plan:
        head = nn.Linear(encoder.dim, tree.level_sizes[level]).to(device)
        if parent_head is None:  # PECOS: the first head starts from N(0, 0.02), bias 0
            with torch.no_grad():
                head.weight.normal_(0.0, 0.02)
                head.bias.zero_()
        elif str(cfg.bootstrap) == "linear":
            linear_bootstrap(encoder, head, tree, level, nodes, row_of_node, cfg)
        else:  # inherit: children start from their parent's weights
            with torch.no_grad():
                index = torch.from_numpy(tree.parents[level]).to(device)
                head.weight.copy_(parent_head.weight[index])
                head.bias.copy_(parent_head.bias[index])
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
        log.final_loss, log.bias_only_loss = level_fit(
            encoder, head, parent_head, tree, level, nodes, row_of_node, cfg, device
        )
        LOG.info(
            "level %d: final loss %.4f, bias-only %.4f", level, log.final_loss, log.bias_only_loss
        )
        logs.append(log)
        heads.append(head.requires_grad_(False))
        parent_head = head
    return logs, heads


def level_fit(
    encoder: TextEncoder,
    head: nn.Linear,
    parent_head: nn.Linear | None,
    tree: LabelTree,
    level: int,
    nodes: np.ndarray,
    row_of_node: np.ndarray,
    cfg: Any,
    device: torch.device,
) -> tuple[float, float]:
    """(loss of the trained level in evaluation mode, bias-only loss) on the training nodes,
    over the same active clusters as training (teacher-forcing ones for the bias-only model)."""
    from iclr.methods.giant_xrt.diagnostics import bias_only_loss

    rows = row_of_node[nodes]
    embedding = torch.from_numpy(embed_nodes(encoder, nodes, int(cfg.embed_batch_size)))
    embedding = embedding.to(device)
    with torch.no_grad():
        active = active_clusters(
            level, tree, rows, embedding, parent_head, str(cfg.negatives), int(cfg.only_topk)
        )
        positive = dense_rows(tree, level, rows, device)
        final = float(squared_hinge(head(embedding), positive, active))
    targets = tree.targets[level][rows]
    if parent_head is None:
        return final, bias_only_loss(targets, None)
    parent = tree.targets[level - 1][rows]
    return final, bias_only_loss(targets, sp.csr_matrix(parent[:, tree.parents[level]]))


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
    """One level: AdamW over encoder and head at one learning rate (PECOS), linear warm-up then
    linear decay to 0, gradient clipping."""
    trainable = [p for p in [*encoder.parameters(), *head.parameters()] if p.requires_grad]
    # fused: one kernel for the whole update; the TF-IDF encoder's first layer holds 20M weights
    optimizer = torch.optim.AdamW(
        trainable, lr=float(cfg.lr), weight_decay=float(cfg.weight_decay), fused=True
    )
    steps = epochs * -(-nodes.size // int(cfg.batch_size))
    warmup = min(int(cfg.warmup_steps), steps)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: warmup_decay(s, warmup, steps)
    )
    log = LevelLog(level, tree.level_sizes[level], epochs, steps)
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
            nn.utils.clip_grad_norm_(trainable, float(cfg.max_grad_norm))
            optimizer.step()
            schedule.step()
            total, count = total + loss.item() * len(rows), count + len(rows)
            if progress is not None:
                progress(level=level, epoch=epoch, loss=loss.item())
        log.losses.append(total / max(count, 1))
        LOG.info("level %d epoch %d: loss %.4f", level, epoch, log.losses[-1])
    log.seconds = time.perf_counter() - start
    return log


def warmup_decay(step: int, warmup: int, steps: int) -> float:
    """Learning-rate factor of Hugging Face's linear schedule (PECOS's): 0 -> 1 over ``warmup``
    steps, then 1 -> 0 at ``steps``."""
    if step < warmup:
        return (step + 1) / warmup
    return max(0.0, (steps - step) / max(1, steps - warmup))
