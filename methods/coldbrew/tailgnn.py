"""TailGCN: Tail-GNN (Liu, Nguyen, Fang; KDD 2021) with GCN layers, a Cold Brew Table 4/5 baseline.

Tail-GNN transfers knowledge from head to tail nodes by *neighbourhood translation*: at each
layer a node's missing neighbourhood information is ``m_v = h_v + r_v − h_N(v)`` (TransE-style),
with ``h_N(v)`` the mean of its neighbours and ``r_v = (γ_v + 1) ⊙ r + β_v`` a node-adapted
global relation vector (``γ_v``, ``β_v`` = LeakyReLU of linear maps of ``h_v`` and ``h_N(v)``).
Following the official code (``shuaiOKshuai/Tail-GNN``, ``models/tailgnn.py``, arch 1 = GCN):

* head mode (real neighbourhoods): ``D̃⁻¹ (A + I) h W + b``;
* tail mode: ``((A + I) h W + b + m W) / (deg + 2)``, i.e. ``m`` enters as one more neighbour;
* two layers, ELU and dropout between them; training nodes get forged *tail versions* by
  keeping 1..k random neighbours (``link_dropout``), and the loss is
  ``(CE_head + CE_tail) / 2 − η · BCE(D(z_tail), 0) + μ · Σ_l mean ‖m_l‖`` (head-mode ``m`` on
  the training nodes), with a discriminator ``D`` (two steps per epoch) told head from forged tail
  outputs; every node is evaluated in tail mode on the real graph.

In Cold Brew's isolation split an isolated node has no neighbour: ``h_N(v) = 0`` (the
"zero-padded neighbourhood" of the paper's Table 5), so ``m_v = h_v + r_v``.
Method ``coldbrew_tailgcn_link`` swaps the cross-entropy for the link loss (Table 4).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.utils import to_torch_csr_tensor

from iclr.methods.baselines.sparse import as_csr
from iclr.methods.coldbrew.link_prediction import (
    LinkTask,
    link_loss,
    load_link_task,
    mean_reciprocal_rank,
)
from iclr.methods.coldbrew.splits import neighbour_degree
from iclr.methods.common.history import History
from iclr.methods.common.node_task import NodeTask, load_node_task
from iclr.methods.common.progress import epoch_progress
from iclr.methods.common.selection import BestEpoch


@dataclass(frozen=True)
class TailGraph:
    """The three propagation matrices of a (possibly asymmetric) graph, rows = targets:
    ``mean`` = D⁻¹A (empty rows without neighbours), ``mean_self`` = D̃⁻¹(A + I),
    ``sum_self`` = A + I, and ``deg`` = row sums of A."""

    mean: torch.Tensor
    mean_self: torch.Tensor
    sum_self: torch.Tensor
    deg: torch.Tensor

    @classmethod
    def build(cls, edge_index: torch.Tensor, num_nodes: int) -> TailGraph:
        """From ``[2, E]`` (source, target) entries without self-loops."""
        src, dst = edge_index
        deg = torch.bincount(dst, minlength=num_nodes).float()
        loops = torch.arange(num_nodes, device=edge_index.device)
        rows, cols = torch.cat([dst, loops]), torch.cat([src, loops])
        size = (num_nodes, num_nodes)
        ones = torch.ones(rows.numel(), device=edge_index.device)
        return cls(
            mean=to_torch_csr_tensor(torch.stack([dst, src]), 1.0 / deg[dst], size=size),
            mean_self=to_torch_csr_tensor(torch.stack([rows, cols]), 1.0 / (deg + 1)[rows], size),
            sum_self=to_torch_csr_tensor(torch.stack([rows, cols]), ones, size=size),
            deg=deg,
        )


def forge_tail_graph(
    edge_index: torch.Tensor, forged: torch.Tensor, k: int, generator: torch.Generator
) -> torch.Tensor:
    """The official ``link_dropout``: every ``forged`` node keeps a uniformly random
    ``1..k`` of its incoming entries (its row of A); other rows stay. Vectorised: each entry gets
    a random key, and its rank inside its row decides whether it survives."""
    src, dst = edge_index
    n = forged.numel()
    keep_count = torch.randint(1, k + 1, (n,), generator=generator)
    key = torch.rand(src.numel(), generator=generator)
    order = torch.argsort(dst.cpu() * 2.0 + key)  # rows contiguous, random order inside a row
    sorted_dst = dst.cpu()[order]
    starts = torch.searchsorted(sorted_dst, sorted_dst, right=False)
    rank = torch.empty_like(order)
    rank[order] = torch.arange(order.numel()) - starts
    keep = ~forged.cpu()[dst.cpu()] | (rank < keep_count[dst.cpu()])
    return edge_index[:, keep.to(edge_index.device)]


class Relation(nn.Module):
    """Neighbourhood translation ``m = h + r_v − h_N`` with ``r_v = (γ + 1) ⊙ r + β``.

    γ and β are LeakyReLU(W₁ h + W₂ h_N) (official ``Relation``, four bias-free maps). Since
    ``h_N = D⁻¹A h`` is linear in ``h``, ``W₂ h_N = D⁻¹A (W₂ h)``: the maps are applied once to
    ``h`` (:meth:`project`, sparse bag-of-words rows stay sparse) and each graph view only
    propagates the product (:meth:`translate`). Same values, a fraction of the cost.
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        # rows: [γ from h; β from h; γ from h_N; β from h_N], the official four maps stacked
        self.maps = nn.Linear(dim, 4 * dim, bias=False)
        bound = 1.0 / math.sqrt(dim)
        self.r = nn.Parameter(torch.empty(1, dim).uniform_(-bound, bound))

    def project(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(W₁ h, W₂ h), each ``[N, 2·dim]`` (γ and β halves)."""
        return self.maps(h).chunk(2, dim=1)

    def translate(
        self,
        from_self: torch.Tensor,
        from_neighbours: torch.Tensor,
        h_dense: torch.Tensor,
        graph: TailGraph,
    ) -> torch.Tensor:
        """``m`` of every node on ``graph`` from the projections of :meth:`project`."""
        gamma, beta = (from_self + graph.mean @ from_neighbours).chunk(2, dim=1)
        r_v = (F.leaky_relu(gamma, 0.2) + 1.0) * self.r + F.leaky_relu(beta, 0.2)
        return h_dense + r_v - graph.mean @ h_dense


class TransGCNLayer(nn.Module):
    """One Tail-GNN GCN layer: :meth:`prepare` does the graph-independent products once,
    :meth:`view` applies head or tail mode on one graph and returns (output, m)."""

    def __init__(self, in_dim: int, out_dim: int) -> None:
        super().__init__()
        self.relation = Relation(in_dim)
        bound = 1.0 / math.sqrt(out_dim)  # the official GraphConv's uniform init
        self.weight = nn.Parameter(torch.empty(in_dim, out_dim).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(out_dim).uniform_(-bound, bound))

    def prepare(self, h: torch.Tensor) -> tuple[torch.Tensor, ...]:
        h_dense = h.to_dense() if h.is_sparse_csr else h
        from_self, from_neighbours = self.relation.project(h)
        return h_dense, from_self, from_neighbours, h @ self.weight

    def view(
        self, prepared: tuple[torch.Tensor, ...], graph: TailGraph, head: bool
    ) -> tuple[torch.Tensor, torch.Tensor]:
        h_dense, from_self, from_neighbours, support = prepared
        m = self.relation.translate(from_self, from_neighbours, h_dense, graph)
        if head:
            return graph.mean_self @ support + self.bias, m
        out = graph.sum_self @ support + self.bias + m @ self.weight
        return out / (graph.deg + 2.0)[:, None], m

    def forward(
        self, h: torch.Tensor, graph: TailGraph, head: bool
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return self.view(self.prepare(h), graph, head)


class TailGCN(nn.Module):
    """Two TransGCN layers with ELU and dropout between them (none on the input, as in the
    official code)."""

    def __init__(self, in_dim: int, hidden: int, out_dim: int, dropout: float) -> None:
        super().__init__()
        self.layer1 = TransGCNLayer(in_dim, hidden)
        self.layer2 = TransGCNLayer(hidden, out_dim)
        self.dropout = dropout

    def views(
        self, x: torch.Tensor, specs: list[tuple[TailGraph, bool]]
    ) -> list[tuple[torch.Tensor, list[torch.Tensor]]]:
        """(output, [m1, m2]) for each (graph, head mode); the first layer's products with
        ``x`` are shared by all views."""
        prepared = self.layer1.prepare(x)
        outputs = []
        for graph, head in specs:
            h, m1 = self.layer1.view(prepared, graph, head)
            h = F.dropout(F.elu(h), self.dropout, self.training)
            out, m2 = self.layer2(h, graph, head)
            outputs.append((out, [m1, m2]))
        return outputs

    def forward(
        self, x: torch.Tensor, graph: TailGraph, head: bool
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        return self.views(x, [(graph, head)])[0]


class Discriminator(nn.Module):
    """The official discriminator: ELU, dropout 0.5, linear + ELU, linear, sigmoid (logit here)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.hidden = nn.Linear(dim, dim)
        self.out = nn.Linear(dim, 1, bias=False)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        z = F.dropout(F.elu(z), 0.5, self.training)
        return self.out(F.elu(self.hidden(z))).squeeze(-1)


def _bce(logit: torch.Tensor, target: float) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logit, torch.full_like(logit, target))


def train_tailgcn(
    m: Any,
    x: torch.Tensor,
    graph: TailGraph,
    tail_graph: TailGraph,
    batch: torch.Tensor,
    out_dim: int,
    task_loss: Any,
    validate: Any,
    history_path: Path,
    label: str,
) -> tuple[TailGCN, dict[str, float]]:
    """The official training loop (two discriminator steps, one model step per epoch), with
    ``task_loss(z)`` the supervised term and ``validate(model) -> (score, metrics)`` the
    selection rule; returns the model at its best-validation epoch."""
    model = TailGCN(x.shape[1], m.hidden, out_dim, m.dropout).to(x.device)
    disc = Discriminator(out_dim).to(x.device)
    opt = torch.optim.Adam(model.parameters(), lr=m.lr, weight_decay=m.weight_decay)
    opt_d = torch.optim.Adam(disc.parameters(), lr=m.lr, weight_decay=m.weight_decay)
    best = BestEpoch(patience=m.get("patience"))
    epoch = -1
    with History(history_path) as history, epoch_progress(m.epochs, label) as advance:
        for epoch in range(m.epochs):
            model.train()
            disc.train()
            # The official code steps D twice per epoch, recomputing the (unchanged) model's
            # outputs each time; we compute them once (only the dropout draw differs).
            with torch.no_grad():
                (z_head, _), (z_tail, _) = model.views(x, [(graph, True), (tail_graph, False)])
            for _ in range(2):
                opt_d.zero_grad()
                loss_d = (_bce(disc(z_head)[batch], 1.0) + _bce(disc(z_tail)[batch], 0.0)) / 2
                loss_d.backward()
                opt_d.step()
            opt.zero_grad()
            (z_head, m_head), (z_tail, _) = model.views(x, [(graph, True), (tail_graph, False)])
            supervised = (task_loss(z_head) + task_loss(z_tail)) / 2
            missing = sum(mv[batch].norm(dim=1).mean() for mv in m_head)
            fool = _bce(disc(z_tail)[batch], 0.0)
            loss = supervised - m.eta * fool + m.mu * missing
            loss.backward()
            opt.step()
            model.eval()
            score, metrics = validate(model)
            best.update(epoch, score, metrics, model)
            history.write(
                epoch=epoch,
                train_loss=loss.item(),
                supervised=supervised.item(),
                disc_loss=loss_d.item(),
                missing=missing.item(),
                **metrics,
            )
            advance(loss=loss.item(), **{k: v for k, v in metrics.items() if k.startswith("val")})
            if best.should_stop:
                break
    best.restore(model)
    model.eval()
    return model, {**best.best_metrics, "best_epoch": best.best_epoch, "epochs_run": epoch + 1}


def _dense_x(task: NodeTask | LinkTask) -> torch.Tensor:
    """Features as the translation needs them: CSR when sparse (``h`` of layer 1)."""
    return as_csr(task.x.to_dense() if task.x.is_sparse_csr else task.x)


def run_link(cfg: Any, out_dir: Path, device: torch.device) -> dict[str, float]:
    """Method ``coldbrew_tailgcn_link`` (Table 4): TailGCN with the link loss instead of
    cross-entropy, scored by the MRR of the isolated nodes' deleted edges."""
    m = cfg.method
    generator = torch.Generator().manual_seed(int(cfg.seed))
    task = load_link_task(cfg).to(device)
    n = task.num_nodes
    graph = TailGraph.build(task.edge_index, n)
    # No labels: Tail-GNN's training nodes are its head nodes (more than k neighbours).
    batch = graph.deg > m.k
    tail = TailGraph.build(forge_tail_graph(task.edge_index, batch, m.k, generator), n)
    x = _dense_x(task)

    def loss_link(z: torch.Tensor) -> torch.Tensor:
        return link_loss(z, task.edge_index, int(m.link.num_neg), generator)

    def validate_link(model: TailGCN) -> tuple[tuple[float, ...], dict[str, float]]:
        with torch.no_grad():
            val = mean_reciprocal_rank(model(x, graph, False)[0], task.val_queries, task.known)
        return (val,), {"val_mrr": val}

    model, metrics = train_tailgcn(
        m, x, graph, tail, batch, int(m.link.dim), loss_link, validate_link,
        out_dir / "history.csv", f"tailgcn on {cfg.dataset.name}",
    )  # fmt: skip
    with torch.no_grad():
        z = model(x, graph, False)[0]
    test = mean_reciprocal_rank(z, task.test_queries, task.known)
    return {**metrics, "test_mrr": test, **task.stats}


def run(cfg: Any, out_dir: Path, device: torch.device) -> dict[str, float]:
    """Method ``coldbrew_tailgcn`` (Table 5): node classification on the isolation split."""
    m = cfg.method
    generator = torch.Generator().manual_seed(int(cfg.seed))
    label = f"tailgcn on {cfg.dataset.name}"
    task = load_node_task(cfg).to(device)
    n = task.num_nodes
    graph = TailGraph.build(task.edge_index, n)
    train = task.masks["train"]
    # Tail versions are forged for training nodes that have more than k neighbours (in the
    # official setting every training node does); the others are tail nodes already.
    degree = neighbour_degree(task.edge_index, n)
    forged = train & (degree > m.k)
    tail = TailGraph.build(forge_tail_graph(task.edge_index, forged, m.k, generator), n)
    x = _dense_x(task)

    def loss_cls(z: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(z[train], task.y[train])

    def validate_cls(model: TailGCN) -> tuple[tuple[float, ...], dict[str, float]]:
        with torch.no_grad():
            logits = model(x, graph, False)[0]
        metrics = task.evaluate(logits)
        val_loss = F.cross_entropy(logits[task.masks["val"]], task.y[task.masks["val"]]).item()
        return (metrics["val_acc"], -val_loss), {**metrics, "val_loss": val_loss}

    _, metrics = train_tailgcn(
        m, x, graph, tail, train, task.num_classes, loss_cls, validate_cls,
        out_dir / "history.csv", label,
    )  # fmt: skip
    return {**metrics, **task.stats}
