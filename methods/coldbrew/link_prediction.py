"""Link prediction on Cold Brew's isolation split (paper Table 4): recover the deleted edges.

The paper says only that "the classification loss is replaced by a link-prediction loss" and that
on the isolation split the model must recover the edges that were deleted, scored by MRR. The
pieces not stated are the official link-prediction code's defaults
(``Link_prediction_model/``: dot-product predictor, ``ce_loss`` = binary cross-entropy on
positive and uniformly sampled negative pairs, 3 negatives per positive) or ours (marked):

* **Graph** (the paper): the isolation split's graph, every edge of an isolated node deleted.
* **Validation** (ours): a seeded ``val_fraction`` of the remaining undirected edges is held out
  of training as well; models are selected on their validation MRR.
* **Test queries**: every deleted entry ``(i, j)`` with ``i`` isolated; ``j`` is ranked among all
  nodes except ``i`` and ``i``'s other true neighbours (the "filtered" ranking), by the score
  ``z_i · z_j``. Ties count half (OGB's mean of optimistic and pessimistic rank).
* **MRR** = mean of 1 / rank over the queries, reported on a 0-1 scale (the paper prints 0-100).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from iclr.data import load_dataset
from iclr.methods.baselines.sparse import as_csr, propagation_matrix
from iclr.methods.coldbrew.splits import make_split
from iclr.methods.common.history import History
from iclr.methods.common.progress import epoch_progress
from iclr.methods.common.selection import BestEpoch

# Query rows scored at once when ranking: rows x N floats (16M floats = 64 MB).
RANK_BUDGET = 1 << 24


@dataclass
class LinkTask:
    """Tensors of one link-prediction run on the isolation split.

    Attributes:
        x: node features (sparse CSR when sparse enough).
        edge_index: the training graph (isolated nodes' and validation edges removed), both
            directions; also the positives of the link loss.
        isolated: bool ``[N]``, the isolation group.
        val_queries / test_queries: ``[2, Q]`` (source, true target) pairs to rank.
        known: sorted ``src * N + dst`` keys of every edge of the original graph, to filter
            other true neighbours out of a query's candidates.
        masks: ``{"val": bool [N]}``, a seeded 10 % of the nodes for selecting regressors that
            are fitted on node targets (Cold Brew's ξ1); no label is used anywhere.
    """

    x: torch.Tensor
    edge_index: torch.Tensor
    isolated: torch.Tensor
    val_queries: torch.Tensor
    test_queries: torch.Tensor
    known: torch.Tensor
    masks: dict[str, torch.Tensor]
    stats: dict[str, float]

    @property
    def num_nodes(self) -> int:
        return self.isolated.numel()

    def propagation(self, kind: str) -> tuple[torch.Tensor, torch.Tensor]:
        """(training, evaluation) propagation matrices: one graph for both, as in NodeTask."""
        matrix = propagation_matrix(self.edge_index, self.num_nodes, kind)
        return matrix, matrix

    def to(self, device: torch.device) -> LinkTask:
        """The same task on ``device``."""
        return LinkTask(
            self.x.to(device),
            self.edge_index.to(device),
            self.isolated.to(device),
            self.val_queries.to(device),
            self.test_queries.to(device),
            self.known.to(device),
            {k: v.to(device) for k, v in self.masks.items()},
            dict(self.stats),
        )


def _undirected_pairs(edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """Unique ``[2, P]`` pairs ``u < v`` of a graph (self-loops dropped)."""
    src, dst = edge_index
    lo, hi = torch.minimum(src, dst), torch.maximum(src, dst)
    keys = torch.unique((lo * num_nodes + hi)[lo != hi])
    return torch.stack([keys // num_nodes, keys % num_nodes])


def link_task_from_graph(
    x: torch.Tensor,
    edge_index: torch.Tensor,
    split: Any,
    num_nodes: int,
    val_fraction: float,
    seed: int,
) -> LinkTask:
    """Build the task from the original graph and its structural split (see the module doc)."""
    isolated = split.isolated
    src, dst = edge_index
    deleted = isolated[src] & (src != dst)
    test_queries = edge_index[:, deleted]
    pairs = _undirected_pairs(split.edge_index, num_nodes)
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(pairs.size(1), generator=generator)
    n_val = int(round(val_fraction * pairs.size(1)))
    val_pairs, train_pairs = pairs[:, order[:n_val]], pairs[:, order[n_val:]]
    known = torch.unique(torch.cat([src * num_nodes + dst, dst * num_nodes + src]))
    val_nodes = torch.rand(num_nodes, generator=generator) < 0.1
    return LinkTask(
        x=as_csr(x),
        edge_index=torch.cat([train_pairs, train_pairs.flip(0)], dim=1),
        isolated=isolated,
        val_queries=torch.cat([val_pairs, val_pairs.flip(0)], dim=1),
        test_queries=test_queries,
        known=known,
        masks={"val": val_nodes},
        stats={
            "size_isolation": float(isolated.sum()),
            "test_queries": float(test_queries.size(1)),
            "val_queries": float(2 * n_val),
            "train_edges": float(2 * train_pairs.size(1)),
        },
    )


def load_link_task(cfg: Any) -> LinkTask:
    """Load ``cfg.dataset`` and build the isolation-split link task of ``cfg.split``."""
    data = load_dataset(cfg.dataset, cfg.paths.data_dir, cfg.paths.mirror)
    split = make_split(
        cfg.split.rule,
        data.edge_index,
        data.num_nodes,
        fraction=cfg.split.get("fraction", 0.1),
        seed=int(cfg.seed),
    )
    return link_task_from_graph(
        data.x,
        data.edge_index,
        split,
        data.num_nodes,
        float(cfg.method.link.val_fraction),
        int(cfg.seed),
    )


def link_loss(
    z: torch.Tensor, positives: torch.Tensor, num_neg: int, generator: torch.Generator
) -> torch.Tensor:
    """The official ``ce_loss``: −log σ(z_u·z_v) over positives plus −log(1 − σ(z_u·z_w)) over
    ``num_neg`` negatives per positive, ``w`` uniform over the nodes (each term a mean)."""
    src, dst = positives
    pos = (z[src] * z[dst]).sum(-1)
    neg_src = src.repeat(num_neg)
    neg_dst = torch.randint(z.size(0), (neg_src.numel(),), generator=generator).to(z.device)
    neg = (z[neg_src] * z[neg_dst]).sum(-1)
    return F.binary_cross_entropy_with_logits(
        pos, torch.ones_like(pos)
    ) + F.binary_cross_entropy_with_logits(neg, torch.zeros_like(neg))


@torch.no_grad()
def mean_reciprocal_rank(z: torch.Tensor, queries: torch.Tensor, known: torch.Tensor) -> float:
    """Filtered MRR of ``queries`` ``[2, Q]`` under dot-product scores (module docstring)."""
    if queries.size(1) == 0:
        return float("nan")
    n = z.size(0)
    chunk = max(1, RANK_BUDGET // n)
    reciprocal = []
    columns = torch.arange(n, device=z.device)
    for start in range(0, queries.size(1), chunk):
        src, dst = queries[:, start : start + chunk]
        scores = z[src] @ z.T
        positive = scores.gather(1, dst[:, None])
        # Candidates: every node except the source and its true neighbours (the target too).
        keys = src[:, None] * n + columns[None, :]
        position = torch.searchsorted(known, keys).clamp(max=known.numel() - 1)
        excluded = (known[position] == keys) | (columns[None, :] == src[:, None])
        excluded[torch.arange(src.numel(), device=z.device), dst] = True
        higher = ((scores > positive) & ~excluded).sum(1)
        ties = ((scores == positive) & ~excluded).sum(1)
        reciprocal.append(1.0 / (1.0 + higher + 0.5 * ties))
    return float(torch.cat(reciprocal).mean())


def fit_link_model(
    model: nn.Module,
    embed: Callable[[], torch.Tensor],
    task: LinkTask,
    optimizer: torch.optim.Optimizer,
    link: Any,
    epochs: int,
    patience: int | None,
    history_path: Path,
    label: str,
    seed: int,
    extra_loss: Callable[[], torch.Tensor] | None = None,
) -> dict[str, float]:
    """Train ``model`` (``embed()`` returns ``[N, d]`` embeddings) with the link loss on the
    training graph; keep the epoch with the best validation MRR (its weights are restored) and
    return val / test MRR there. ``extra_loss()`` is added to each step's loss."""
    generator = torch.Generator().manual_seed(seed)
    best = BestEpoch(patience=patience)
    epoch = -1
    with History(history_path) as history, epoch_progress(epochs, label) as advance:
        for epoch in range(epochs):
            model.train()
            optimizer.zero_grad()
            loss = link_loss(embed(), task.edge_index, int(link.num_neg), generator)
            if extra_loss is not None:
                loss = loss + extra_loss()
            loss.backward()
            optimizer.step()
            model.eval()
            with torch.no_grad():
                val_mrr = mean_reciprocal_rank(embed(), task.val_queries, task.known)
            best.update(epoch, (val_mrr,), {"val_mrr": val_mrr}, model)
            history.write(epoch=epoch, train_loss=loss.item(), val_mrr=val_mrr)
            advance(loss=loss.item(), val_mrr=val_mrr)
            if best.should_stop:
                break
    best.restore(model)
    model.eval()
    with torch.no_grad():
        test_mrr = mean_reciprocal_rank(embed(), task.test_queries, task.known)
    return {
        **best.best_metrics,
        "test_mrr": test_mrr,
        **task.stats,
        "best_epoch": best.best_epoch,
        "epochs_run": epoch + 1,
    }
