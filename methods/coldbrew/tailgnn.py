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
    link_loss,
    load_link_task,
    mean_reciprocal_rank,
)
from iclr.methods.coldbrew.splits import neighbour_degree
from iclr.methods.common.history import History
from iclr.methods.common.node_task import load_node_task
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


class _InputProduct(torch.autograd.Function):
    """``x @ weight`` for the fixed input features ``x``: the weight gradient is ``xᵀ @ grad``
    with ``xᵀ`` built once per run, and ``known`` (the same product, already computed with the
    current weights) is returned instead of being recomputed."""

    @staticmethod
    def forward(ctx: Any, weight: torch.Tensor, x: torch.Tensor, x_t: torch.Tensor, known: Any):
        ctx.x_t = x_t
        return known if known is not None else x @ weight

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        return ctx.x_t @ grad, None, None, None


@dataclass(frozen=True)
class TailInput:
    """The fixed tensors of one run: features ``x`` (CSR when sparse bag-of-words), ``x_t`` =
    ``xᵀ`` for the first layer's weight gradients, and the rows whose head-mode ``m`` enters the
    missing-information penalty: ``rows``, ``mean_rows`` = those rows of D⁻¹A, and ``diff_rows``
    = ``(x − D⁻¹A x)[rows]``."""

    x: torch.Tensor
    x_t: torch.Tensor
    rows: torch.Tensor
    mean_rows: torch.Tensor
    diff_rows: torch.Tensor

    @classmethod
    def build(cls, x: torch.Tensor, graph: TailGraph, penalised: torch.Tensor) -> TailInput:
        """From features (dense or CSR), the real graph and the penalised nodes' boolean mask."""
        x = as_csr(x.to_dense() if x.is_sparse_csr else x)
        if x.is_sparse_csr:
            x_t = x.to_sparse_coo().t().coalesce().to_sparse_csr()
        else:
            x_t = x.t().contiguous()
        rows = penalised.nonzero().squeeze(1)
        mean_rows = _select_rows(rows, x.shape[0]) @ graph.mean
        diff_rows = _dense(_select_rows(rows, x.shape[0]) @ x) - _dense(mean_rows @ x)
        return cls(x, x_t, rows, mean_rows, diff_rows)


def _select_rows(rows: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """The ``[len(rows), N]`` CSR matrix whose product picks ``rows`` (CSR has no row indexing)."""
    ids = torch.arange(rows.numel(), device=rows.device)
    ones = torch.ones(rows.numel(), device=rows.device)
    return to_torch_csr_tensor(torch.stack([ids, rows]), ones, size=(rows.numel(), num_nodes))


def _dense(a: torch.Tensor) -> torch.Tensor:
    return a.to_dense() if a.is_sparse_csr else a


@dataclass(frozen=True)
class Prepared:
    """A layer's graph-independent products with its input ``h``: ``support = h W`` and the
    four relation maps applied to ``h`` (γ and β, as seen from the node itself and from its
    neighbours)."""

    h: torch.Tensor
    support: torch.Tensor
    gamma_self: torch.Tensor
    beta_self: torch.Tensor
    gamma_neighbours: torch.Tensor
    beta_neighbours: torch.Tensor


class TransGCNLayer(nn.Module):
    """One Tail-GNN GCN layer with its neighbourhood translation
    ``m = h + r_v − h_N``, ``r_v = (γ + 1) ⊙ r + β``, γ and β = LeakyReLU(W₁ h + W₂ h_N)
    (official ``Relation``: four bias-free maps).

    The computation is arranged so that nothing of input width is formed twice, and ``m`` never
    (same values, reordered sums): ``W₂ h_N = D⁻¹A (h W₂)``, so the maps are applied once to
    ``h`` (:meth:`prepare`; sparse bag-of-words rows stay sparse) and each graph view only
    propagates the products; in tail mode ``m W = h W − D⁻¹A (h W) + r_v W``; head mode ignores
    ``m``, which the penalty needs on the training rows only (:meth:`missing`).
    """

    MAPS = ("gamma_self", "beta_self", "gamma_neighbours", "beta_neighbours")

    def __init__(self, in_dim: int, out_dim: int) -> None:
        super().__init__()
        # drawn as one nn.Linear(in_dim, 4·in_dim) draws its weight (rows in MAPS order), each
        # map stored [in, out] for h @ map
        maps = torch.empty(4 * in_dim, in_dim)
        nn.init.kaiming_uniform_(maps, a=math.sqrt(5))
        for name, block in zip(self.MAPS, maps.chunk(4), strict=True):
            self.register_parameter(name, nn.Parameter(block.t().contiguous()))
        bound = 1.0 / math.sqrt(in_dim)
        self.r = nn.Parameter(torch.empty(1, in_dim).uniform_(-bound, bound))
        bound = 1.0 / math.sqrt(out_dim)  # the official GraphConv's uniform init
        self.weight = nn.Parameter(torch.empty(in_dim, out_dim).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(out_dim).uniform_(-bound, bound))

    def prepare(self, h: torch.Tensor | TailInput, known: Prepared | None = None) -> Prepared:
        """The products with a hidden ``h`` or with the fixed input features; for the input,
        ``known`` products computed with the current weights are reused, not recomputed."""
        names = ("support", *self.MAPS)
        weights = [getattr(self, "weight" if name == "support" else name) for name in names]
        if isinstance(h, torch.Tensor):
            return Prepared(h, *(h @ w for w in weights))
        return Prepared(
            h.x,
            *(
                _InputProduct.apply(w, h.x, h.x_t, getattr(known, name) if known else None)
                for name, w in zip(names, weights, strict=True)
            ),
        )

    def _relation(
        self, p: Prepared, mean: torch.Tensor, rows: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``r_v − r = LeakyReLU(β) + LeakyReLU(γ) ⊙ r`` on ``rows`` (all rows: None) of the
        graph whose D⁻¹A rows are ``mean``."""
        gamma_self, beta_self = p.gamma_self, p.beta_self
        if rows is not None:
            gamma_self, beta_self = gamma_self[rows], beta_self[rows]
        gamma = F.leaky_relu(gamma_self + mean @ p.gamma_neighbours, 0.2)
        beta = F.leaky_relu(beta_self + mean @ p.beta_neighbours, 0.2)
        return torch.addcmul(beta, gamma, self.r)

    def view(self, p: Prepared, graph: TailGraph, head: bool) -> torch.Tensor:
        """Head mode ``D̃⁻¹(A + I) h W + b``; tail mode ``((A + I) h W + b + m W) / (deg + 2)``."""
        if head:
            return graph.mean_self @ p.support + self.bias
        r_w = self._relation(p, graph.mean) @ self.weight + self.r @ self.weight
        m_w = p.support - graph.mean @ p.support + r_w
        return (graph.sum_self @ p.support + self.bias + m_w) / (graph.deg + 2.0)[:, None]

    def missing(
        self, p: Prepared, rows: torch.Tensor, mean_rows: torch.Tensor, diff_rows: torch.Tensor
    ) -> torch.Tensor:
        """``m`` on ``rows`` of the real graph, from ``diff_rows = (h − D⁻¹A h)[rows]``."""
        return diff_rows + self._relation(p, mean_rows, rows) + self.r


class TailGCN(nn.Module):
    """Two TransGCN layers with ELU and dropout between them (none on the input, as in the
    official code)."""

    def __init__(self, in_dim: int, hidden: int, out_dim: int, dropout: float) -> None:
        super().__init__()
        self.layer1 = TransGCNLayer(in_dim, hidden)
        self.layer2 = TransGCNLayer(hidden, out_dim)
        self.dropout = dropout

    def first(
        self, x: TailInput, specs: list[tuple[TailGraph, bool]], known: Prepared | None = None
    ) -> tuple[list[torch.Tensor], Prepared]:
        """Layer 1's output for each (graph, head mode), before ELU and dropout (it draws no
        random numbers, so one pass serves several second-layer passes), and its products
        (``known``: products already computed with the current weights)."""
        prepared = self.layer1.prepare(x, known)
        return [self.layer1.view(prepared, graph, head) for graph, head in specs], prepared

    def second(
        self, first: list[torch.Tensor], specs: list[tuple[TailGraph, bool]]
    ) -> list[tuple[torch.Tensor, Prepared]]:
        """(output, layer-2 products) for each view, from :meth:`first`'s outputs."""
        outputs = []
        for h, (graph, head) in zip(first, specs, strict=True):
            prepared = self.layer2.prepare(F.dropout(F.elu(h), self.dropout, self.training))
            outputs.append((self.layer2.view(prepared, graph, head), prepared))
        return outputs

    def missing(self, x: TailInput, first: Prepared, second: Prepared) -> list[torch.Tensor]:
        """``[m1, m2]`` on ``x.rows`` of the real graph's head-mode view."""
        h = second.h
        diff = h[x.rows] - x.mean_rows @ h
        return [
            self.layer1.missing(first, x.rows, x.mean_rows, x.diff_rows),
            self.layer2.missing(second, x.rows, x.mean_rows, diff),
        ]

    def forward(self, x: TailInput, graph: TailGraph, head: bool = False) -> torch.Tensor:
        """Output of every node in one mode on ``graph``."""
        return self.outputs(x, graph, head)[0]

    def outputs(
        self, x: TailInput, graph: TailGraph, head: bool = False
    ) -> tuple[torch.Tensor, Prepared]:
        """:meth:`forward`'s output and layer 1's products."""
        specs = [(graph, head)]
        first, prepared = self.first(x, specs)
        return self.second(first, specs)[0][0], prepared


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
    x: TailInput,
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
    ``task_loss(z)`` the supervised term and ``validate(z) -> (score, metrics)`` the selection
    rule on the tail-mode outputs of the real graph; returns the model at its best-validation
    epoch. ``x.rows`` must be ``batch``'s nodes (the penalised ones)."""
    model = TailGCN(x.x.shape[1], m.hidden, out_dim, m.dropout).to(x.x.device)
    disc = Discriminator(out_dim).to(x.x.device)
    # fused: the same Adam update in one kernel (CiteSeer's relation maps hold 55M weights)
    opt = torch.optim.Adam(model.parameters(), lr=m.lr, weight_decay=m.weight_decay, fused=True)
    opt_d = torch.optim.Adam(disc.parameters(), lr=m.lr, weight_decay=m.weight_decay)
    best = BestEpoch(patience=m.get("patience"))
    specs = [(graph, True), (tail_graph, False)]
    epoch, known = -1, None
    with History(history_path) as history, epoch_progress(m.epochs, label) as advance:
        for epoch in range(m.epochs):
            model.train()
            disc.train()
            # layer 1's products with x come from last epoch's validation: no step since
            first, prepared = model.first(x, specs, known)
            # The official code steps D twice per epoch, recomputing the (unchanged) model's
            # outputs each time; we compute them once (only the dropout draw differs), sharing
            # layer 1 (no dropout before it) with the model's own step below.
            with torch.no_grad():
                (z_head, _), (z_tail, _) = model.second([h.detach() for h in first], specs)
            for _ in range(2):
                opt_d.zero_grad()
                loss_d = (_bce(disc(z_head)[batch], 1.0) + _bce(disc(z_tail)[batch], 0.0)) / 2
                loss_d.backward()
                opt_d.step()
            opt.zero_grad()
            (z_head, second), (z_tail, _) = model.second(first, specs)
            supervised = (task_loss(z_head) + task_loss(z_tail)) / 2
            missing = sum(mv.norm(dim=1).mean() for mv in model.missing(x, prepared, second))
            fool = _bce(disc(z_tail)[batch], 0.0)
            loss = supervised - m.eta * fool + m.mu * missing
            loss.backward()
            opt.step()
            model.eval()
            with torch.no_grad():
                z, known = model.outputs(x, graph)
                score, metrics = validate(z)
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
    x = TailInput.build(task.x, graph, batch)

    def loss_link(z: torch.Tensor) -> torch.Tensor:
        return link_loss(z, task.edge_index, int(m.link.num_neg), generator)

    def validate_link(z: torch.Tensor) -> tuple[tuple[float, ...], dict[str, float]]:
        val = mean_reciprocal_rank(z, task.val_queries, task.known)
        return (val,), {"val_mrr": val}

    model, metrics = train_tailgcn(
        m, x, graph, tail, batch, int(m.link.dim), loss_link, validate_link,
        out_dir / "history.csv", f"tailgcn on {cfg.dataset.name}",
    )  # fmt: skip
    with torch.no_grad():
        z = model(x, graph)
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
    x = TailInput.build(task.x, graph, train)

    def loss_cls(z: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(z[train], task.y[train])

    def validate_cls(logits: torch.Tensor) -> tuple[tuple[float, ...], dict[str, float]]:
        metrics = task.evaluate(logits)
        val_loss = F.cross_entropy(logits[task.masks["val"]], task.y[task.masks["val"]]).item()
        return (metrics["val_acc"], -val_loss), {**metrics, "val_loss": val_loss}

    _, metrics = train_tailgcn(
        m, x, graph, tail, train, task.num_classes, loss_cls, validate_cls,
        out_dir / "history.csv", label,
    )  # fmt: skip
    return {**metrics, **task.stats}
