"""Meta-Tail2Vec (Liu, Zhang, Fang, Zhang, Hoi; CIKM 2020), a Cold Brew Table 4/5 baseline.

Tail nodes' embeddings are poor because they have few links. Meta-Tail2Vec learns them as a
few-shot regression: a regressor maps a node's *context* (the λ-weighted mean of the base
embeddings of its sampled 2-hop neighbourhood) to its base embedding, and is meta-learned with
MAML so that, for each tail node, a few gradient steps on its own neighbours (the locality)
personalise it. Following the official code (``smufang/meta-tail2vec``, ``maml.py``,
``data_generator.py``):

* a task is a head node ``q`` with ``kshot`` sampled neighbours ``S``: the support examples are
  the nodes of ``S`` (context over the full graph → their base embedding), the query is ``q``
  whose context is restricted to ``S`` and their neighbours (a simulated tail node);
* the regressor is ``in → 1024 → d`` (ReLU); ``inner_steps`` SGD steps of ``inner_lr`` on the
  support MSE, the query MSE after the last step is the meta-loss (Adam ``meta_lr``, each
  gradient clipped to norm 10, ``meta_batch`` tasks per step, second-order gradients);
* a tail node (at most ``kshot`` links) adapts on its own neighbours (missing support rows are
  masked out) and its query prediction replaces its base embedding.

Adaptations to Cold Brew's attributed, isolation-split graphs (ours, the paper of Table 5 does
not describe them): the base embedding model is the 2-layer GCN of the same table (its hidden
layer for classification, its link embedding for link prediction) instead of DeepWalk, which
ignores features and gives an edge-less node no embedding at all; and the regressor sees the
node's own features next to the context, as the base model's embedding of the node *alone*
(the GCN on the edgeless graph, ``own_v``): its input is ``[own_v ‖ context_v]``, 2 × 64 = 128
wide like the official 128-d input. An isolated node has no context and no support: its input is
``[own_v ‖ 0]`` (the "zero-padded neighbourhood") and it uses the meta-learned regressor
unadapted. λ = 0 and 2 hops are the official settings; the official
per-hop sampling caps (50, 25) are not applied (every neighbour counts).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from iclr.methods.baselines.sparse import propagation_matrix
from iclr.methods.coldbrew.link_prediction import load_link_task, mean_reciprocal_rank
from iclr.methods.coldbrew.pipeline import train_link_teacher, train_teacher
from iclr.methods.coldbrew.splits import neighbour_degree
from iclr.methods.common.history import History
from iclr.methods.common.node_task import NodeTask, load_node_task
from iclr.methods.common.progress import epoch_progress

# Rows of per-node fast weights adapted at once at test time (each holds in × hidden floats).
ADAPT_CHUNK = 32


def context_means(
    emb: torch.Tensor, adjacency: torch.Tensor, members: torch.Tensor, exclude: torch.Tensor
) -> torch.Tensor:
    """Mean base embedding over ``members`` ∪ their neighbours, minus ``exclude``, per row.

    ``members``: float ``[B, N]`` indicators of each row's hop-1 set; ``adjacency`` a symmetric
    0/1 CSR ``A``; ``exclude``: long ``[B]`` (the node itself). λ = 0: every hop weighs the same.
    Rows with an empty context give 0.
    """
    reach = (members + (adjacency @ members.T).T) > 0
    reach[torch.arange(reach.size(0), device=reach.device), exclude] = False
    weight = reach.float()
    return (weight @ emb) / weight.sum(1, keepdim=True).clamp(min=1.0)


def full_contexts(emb: torch.Tensor, adjacency: torch.Tensor) -> torch.Tensor:
    """Every node's context over its real 2-hop neighbourhood, itself excluded: the same mean as
    :func:`context_means` with the node's neighbours as hop 1, from the sparse ``A + A²``."""
    n = emb.size(0)
    a = adjacency.to_sparse_coo().coalesce()
    pairs = torch.cat([a.indices(), torch.sparse.mm(a, a).coalesce().indices()], dim=1)
    keys = torch.unique(pairs[0] * n + pairs[1])
    rows, cols = keys // n, keys % n
    rows, cols = rows[rows != cols], cols[rows != cols]
    count = torch.bincount(rows, minlength=n).clamp(min=1).to(emb.dtype)
    return torch.zeros_like(emb).index_add_(0, rows, emb[cols]) / count[:, None]


def _forward(inputs: torch.Tensor, w: list[torch.Tensor]) -> torch.Tensor:
    """The regressor with batched weights: inputs ``[B, R, in]`` → ``[B, R, d]``."""
    w1, b1, w2, b2 = w
    return torch.baddbmm(b2, torch.baddbmm(b1, inputs, w1).relu(), w2)


def _masked_mse(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per task mean squared error over its unmasked rows, summed over tasks (0 when none)."""
    per_row = (pred - target).square().mean(-1) * mask
    return (per_row.sum(1) / mask.sum(1).clamp(min=1.0)).sum()


def adapt(
    weights: list[torch.Tensor],
    support_x: torch.Tensor,
    support_y: torch.Tensor,
    support_mask: torch.Tensor,
    steps: int,
    lr: float,
    create_graph: bool,
) -> list[torch.Tensor]:
    """MAML's inner loop: ``steps`` SGD steps on each task's support MSE (batched weights)."""
    fast = [w.unsqueeze(0).expand(support_x.size(0), *w.shape) for w in weights]
    for _ in range(steps):
        loss = _masked_mse(_forward(support_x, fast), support_y, support_mask)
        grads = torch.autograd.grad(loss, fast, create_graph=create_graph, allow_unused=True)
        fast = [w if g is None else w - lr * g for w, g in zip(fast, grads, strict=True)]
    return fast


class MetaTail2Vec:
    """The meta-learned regressor and its training on tasks drawn from head nodes."""

    def __init__(self, m: Any, in_dim: int, out_dim: int, device: torch.device) -> None:
        self.m = m
        w1 = torch.empty(in_dim, m.hidden, device=device)
        w2 = torch.empty(m.hidden, out_dim, device=device)
        torch.nn.init.xavier_uniform_(w1)
        torch.nn.init.xavier_uniform_(w2)
        self.weights = [
            w1.requires_grad_(),
            torch.zeros(1, m.hidden, device=device, requires_grad=True),
            w2.requires_grad_(),
            torch.zeros(1, out_dim, device=device, requires_grad=True),
        ]

    def meta_train(
        self,
        features: torch.Tensor,
        emb: torch.Tensor,
        contexts: torch.Tensor,
        adjacency: torch.Tensor,
        heads: torch.Tensor,
        generator: torch.Generator,
        history_path: Path,
        label: str,
    ) -> dict[str, float]:
        """Meta-train for ``m.iterations`` steps of ``m.meta_batch`` tasks."""
        m, device = self.m, emb.device
        optimizer = torch.optim.Adam(self.weights, lr=m.meta_lr)
        rows, cols = adjacency.to_sparse_coo().indices()
        head_ids = heads.nonzero().squeeze(1)
        starts = torch.searchsorted(rows, head_ids)
        degree = torch.bincount(rows, minlength=emb.size(0))[head_ids]
        support_inputs = torch.cat([features, contexts], dim=1)
        post = float("nan")
        with History(history_path) as history, epoch_progress(m.iterations, label) as advance:
            for step in range(m.iterations):
                pick = torch.randint(head_ids.numel(), (m.meta_batch,), generator=generator)
                q = head_ids[pick]
                # kshot distinct neighbours of each q: the first kshot of a random permutation
                # of its adjacency row, drawn as random keys sorted within the row
                keys = torch.rand(m.meta_batch, int(degree.max()), generator=generator)
                keys[torch.arange(keys.size(1))[None, :] >= degree[pick][:, None]] = 2.0
                chosen = keys.argsort(dim=1)[:, : m.kshot]
                support = cols[(starts[pick][:, None] + chosen).to(device)]
                members = torch.zeros(m.meta_batch, emb.size(0), device=device)
                members.scatter_(1, support, 1.0)
                query_context = context_means(emb, adjacency, members, q)
                query_x = torch.cat([features[q], query_context], dim=1)[:, None, :]
                sup_x, sup_y = support_inputs[support], emb[support]
                mask = torch.ones(m.meta_batch, m.kshot, device=device)
                fast = adapt(self.weights, sup_x, sup_y, mask, m.inner_steps, m.inner_lr, True)
                query_loss = (
                    _masked_mse(_forward(query_x, fast), emb[q][:, None, :], mask[:, :1])
                    / m.meta_batch
                )
                optimizer.zero_grad()
                query_loss.backward()
                for w in self.weights:  # tf.clip_by_norm(grad, 10) on every variable
                    if w.grad is not None:
                        w.grad.mul_((10.0 / w.grad.norm().clamp(min=1e-12)).clamp(max=1.0))
                optimizer.step()
                post = query_loss.item()
                history.write(step=step, query_mse=post)
                advance(query_mse=post)
        return {"meta_query_mse": post}

    def predict(
        self,
        nodes: torch.Tensor,
        features: torch.Tensor,
        emb: torch.Tensor,
        contexts: torch.Tensor,
        adjacency: torch.Tensor,
    ) -> torch.Tensor:
        """Embeddings of ``nodes`` (tail nodes): each adapts on its neighbours (at most
        ``kshot``; padding rows masked), then regresses its own embedding from its context."""
        m = self.m
        rows, cols = adjacency.to_sparse_coo().indices()
        inputs = torch.cat([features, contexts], dim=1)
        out = torch.empty(nodes.numel(), emb.size(1), device=emb.device)
        rows_start = torch.searchsorted(rows, nodes)
        count = torch.searchsorted(rows, nodes, right=True) - rows_start
        # nodes without a neighbour (isolated) have no support: the regressor is used unadapted
        lonely = count == 0
        with torch.no_grad():
            out[lonely] = _forward(inputs[nodes[lonely]][None], [w[None] for w in self.weights])[0]
        for start in range(0, nodes.numel(), ADAPT_CHUNK):
            part = torch.arange(start, min(start + ADAPT_CHUNK, nodes.numel()), device=emb.device)
            part = part[~lonely[part]]
            if part.numel() == 0:
                continue
            ids, first, n_sup = nodes[part], rows_start[part], count[part]
            slot = torch.arange(m.kshot, device=emb.device)
            mask = (slot[None, :] < n_sup[:, None]).float()
            index = (first[:, None] + slot[None, :]).clamp(max=cols.numel() - 1)
            support = torch.where(mask > 0, cols[index], ids[:, None])
            fast = adapt(
                self.weights, inputs[support], emb[support], mask, m.inner_steps, m.inner_lr, False
            )
            with torch.no_grad():
                out[part] = _forward(inputs[ids][:, None, :], fast)[:, 0]
        return out.detach()


def _adjacency(edge_index: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """Symmetric 0/1 CSR adjacency without self-loops (rows sorted)."""
    mean = propagation_matrix(edge_index, num_nodes, "mean")
    return torch.sparse_csr_tensor(
        mean.crow_indices(), mean.col_indices(), torch.ones_like(mean.values()), mean.shape
    )


def refine(
    m: Any,
    features: torch.Tensor,
    emb: torch.Tensor,
    edge_index: torch.Tensor,
    seed: int,
    out_dir: Path,
    label: str,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Meta-train on the head nodes (more than ``kshot`` links) and replace every tail node's
    (at most ``kshot`` links, isolated ones included) base embedding by its prediction.
    ``features``: each node's own-feature input (``own_v``, module docstring)."""
    n = emb.size(0)
    adjacency = _adjacency(edge_index, n)
    degree = neighbour_degree(edge_index, n)
    contexts = full_contexts(emb, adjacency)
    generator = torch.Generator().manual_seed(seed)
    regressor = MetaTail2Vec(m, features.size(1) + emb.size(1), emb.size(1), emb.device)
    stats = regressor.meta_train(
        features, emb, contexts, adjacency, degree > m.kshot, generator,
        out_dir / "history.csv", label,
    )  # fmt: skip
    tail = (degree <= m.kshot).nonzero().squeeze(1)
    final = emb.clone()
    final[tail] = regressor.predict(tail, features, emb, contexts, adjacency)
    return final, {**stats, "size_refined": float(tail.numel())}


def _identity(n: int, device: torch.device) -> torch.Tensor:
    """The propagation matrix of the edgeless graph (self-loops only), as CSR."""
    return propagation_matrix(torch.empty(2, 0, dtype=torch.long, device=device), n, "gcn")


@torch.no_grad()
def _hidden(teacher: Any, x: torch.Tensor, adj: torch.Tensor) -> torch.Tensor:
    """The base GCN's hidden layer (after ReLU): its node embedding for classification."""
    teacher.eval()
    _, pres = teacher.forward_with_layers(x, adj)
    return (adj @ pres[0] + teacher.layers[0].bias).relu()


def run_link(cfg: Any, out_dir: Path, device: torch.device) -> dict[str, float]:
    """Method ``coldbrew_meta_tail2vec_link`` (Table 4): the base GCN trained with the link loss,
    its tail nodes' embeddings refined, scored by the MRR of the isolated nodes' deleted edges."""
    m, seed = cfg.method, int(cfg.seed)
    task = load_link_task(cfg).to(device)
    base, adj, base_metrics = train_link_teacher(
        m.base, task, m.link, out_dir, device, "base GCN", seed
    )
    base.eval()
    with torch.no_grad():
        emb = base(task.x, adj)
        own = base(task.x, _identity(task.num_nodes, device))
    label = f"meta-tail2vec on {cfg.dataset.name}"
    final, stats = refine(m, own, emb, task.edge_index, seed, out_dir, label)
    return {
        "val_mrr": mean_reciprocal_rank(final, task.val_queries, task.known),
        "test_mrr": mean_reciprocal_rank(final, task.test_queries, task.known),
        "base_val_mrr": base_metrics["val_mrr"],
        "base_test_mrr": base_metrics["test_mrr"],
        **stats,
        **task.stats,
    }


def run(cfg: Any, out_dir: Path, device: torch.device) -> dict[str, float]:
    """Method ``coldbrew_meta_tail2vec`` (Table 5): classification on the isolation split, by a
    logistic regression on the refined embeddings."""
    m, seed = cfg.method, int(cfg.seed)
    label = f"meta-tail2vec on {cfg.dataset.name}"
    task = load_node_task(cfg).to(device)
    base, adj, base_metrics = train_teacher(m.base, task, out_dir, device, "base GCN")
    emb = _hidden(base, task.x, adj)
    own = _hidden(base, task.x, _identity(task.num_nodes, device))
    final, stats = refine(m, own, emb, task.edge_index, seed, out_dir, label)
    metrics = _logistic_regression(final, task, m.classifier)
    return {
        **metrics,
        **{f"base_{k}": v for k, v in base_metrics.items() if k.startswith("acc_")},
        "base_test_acc": base_metrics["test_acc"],
        **stats,
        **task.stats,
    }


def _logistic_regression(emb: torch.Tensor, task: NodeTask, c: Any) -> dict[str, float]:
    """The downstream classifier of the official ``multiclass_task.py``: a liblinear logistic
    regression (one-vs-rest) on the embeddings of the training nodes."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    train = task.masks["train"].cpu().numpy()
    features = emb.cpu().numpy()
    # liblinear is one-vs-rest (what the official multi_class='auto' picks for it)
    model = OneVsRestClassifier(
        LogisticRegression(C=float(c.C), solver="liblinear", max_iter=int(c.max_iter))
    )
    model.fit(features[train], task.y.cpu().numpy()[train])
    logits = torch.as_tensor(model.decision_function(features), device=emb.device)
    return task.evaluate(logits)
