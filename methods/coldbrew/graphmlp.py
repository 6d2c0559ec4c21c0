"""Graph-MLP (Hu et al., 2021, "Graph-MLP: Node classification without message passing in graph").

An MLP that sees the graph only through its training loss: a neighbour-contrastive term pulls
the embeddings of r-hop neighbours together, so inference needs features alone (which is why
Cold Brew uses it as a baseline for isolated nodes).

Official code (``yanghu819/Graph-MLP``, ``models.py`` / ``train.py`` / ``utils.py`` /
``run.sh``, read at commit 4d5efad):

- model: Linear(in, hidden) → GELU → LayerNorm(eps 1e-6) → Dropout → Linear(hidden, hidden) = z;
  classifier Linear(hidden, classes) on z; both MLP weights Xavier-uniform, biases N(0, 1e-6²);
- target: ``get_A_r`` = (D̃^-1/2 (A + I) D̃^-1/2)^r ("AugNormAdj"), used as weights γ_ij;
- batch: ``batch_size`` node indices drawn *with* replacement, the first |train| slots
  overwritten by the training nodes; CE on those, loss = CE + α · NContrast;
- ``train.py`` argparse defaults (an "epoch" is one sampled batch): epochs 400, lr 0.01,
  weight decay 5e-4, hidden 256, dropout 0.6, alpha 2.0, batch_size 2048, order 2, tau 1.0;
- ``run.sh`` / README per dataset (Adam, hidden 256, batch 2000, order 2, weight decay 5e-3):
  Cora lr 1e-3, alpha 10, tau 2; CiteSeer lr 1e-3, alpha 1, tau 0.5; PubMed lr 0.1, alpha 100,
  tau 1. ``log.txt`` records 80.1 / 72.4 / 79.6 test accuracy for these runs.

**τ convention.** The paper's loss divides the cosine similarity by τ; the official code computes
``exp(tau * sim)``, i.e. multiplies. ``ncontrast_loss`` follows the paper (and Cold Brew's
re-implementation, ``MLP_model/__init__.py: get_neighbor_contrastive_loss``), so the official
``--tau=2`` on Cora is ``tau=0.5`` here. ``OFFICIAL_SETTINGS`` below is already converted.

Cold Brew's repository (``base_options.py``) runs its own Graph-MLP with hidden 256, dropout 0.6,
``graphMLP_tau`` 2.0 (divided), ``graphMLP_r`` 3, batch 3000 and ``graphMLP_reg`` (= α) 0 by
default, i.e. the contrastive term is off unless set (see ``papers/coldbrew.md`` §8).

**Diagonal.** The paper's loss excludes j = i from both sums. The official code instead zeroes the
self-similarity, so exp(0) = 1 enters the denominator and γ_ii · 1 the numerator. Here, as in the
paper and in Cold Brew's version, the diagonal is excluded. Rows whose numerator is then empty
(no r-hop neighbour in the batch) are left out of the mean, where the loss would be log 0.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from iclr.methods.baselines.sparse import propagation_matrix

# Official per-dataset settings (run.sh), τ converted to this module's divide-by-τ convention.
OFFICIAL_SETTINGS: dict[str, dict[str, float]] = {
    "cora": {"lr": 1e-3, "weight_decay": 5e-3, "alpha": 10.0, "tau": 0.5, "order": 2},
    "citeseer": {"lr": 1e-3, "weight_decay": 5e-3, "alpha": 1.0, "tau": 2.0, "order": 2},
    "pubmed": {"lr": 0.1, "weight_decay": 5e-3, "alpha": 100.0, "tau": 1.0, "order": 2},
}
OFFICIAL_COMMON = {"hidden": 256, "dropout": 0.6, "batch_size": 2000, "epochs": 400}


class GraphMLP(nn.Module):
    """Graph-MLP encoder and classifier: returns ``(logits, z)``; the graph enters only the loss.

    ``z`` is the hidden embedding that ``ncontrast_loss`` compares; the logits are a linear map of
    ``z``. Raw logits are returned (the official model returns log-softmax): use cross-entropy.
    """

    def __init__(self, in_dim: int, hidden: int, out_dim: int, dropout: float = 0.6) -> None:
        super().__init__()
        self.fc1 = nn.Linear(in_dim, hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        # eps 1e-6 as in the official model (PyTorch's default is 1e-5).
        self.norm = nn.LayerNorm(hidden, eps=1e-6)
        self.classifier = nn.Linear(hidden, out_dim)
        self.dropout = dropout
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Official initialisation: Xavier-uniform MLP weights, near-zero biases."""
        for layer in (self.fc1, self.fc2):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.normal_(layer.bias, std=1e-6)
        self.norm.reset_parameters()
        self.classifier.reset_parameters()  # PyTorch default, as in the official code

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Dense or CSR ``x`` ``[N, in_dim]`` → (logits ``[N, out_dim]``, z ``[N, hidden]``).

        A CSR ``x`` goes through ``fc1`` as a sparse × dense product, so bag-of-words features
        never need densifying. There is no input dropout in the official model.
        """
        h = self.fc1(x)
        h = self.norm(F.gelu(h))
        h = F.dropout(h, self.dropout, self.training)
        z = self.fc2(h)
        return self.classifier(z), z


def neighbour_adjacency(edge_index: torch.Tensor, num_nodes: int, hops: int = 2) -> torch.Tensor:
    """Graph-MLP's r-hop target Â^r (CSR, ``[N, N]``), Â = D̃^-1/2 (A + I) D̃^-1/2.

    This is the official ``get_A_r(AugNormAdj(A), r)``, kept sparse: entry (i, j) is non-zero
    exactly when j is within ``hops`` hops of i (self-loops make every shorter walk count), and
    its value is the weight γ_ij of the pair in ``ncontrast_loss``. Rows are targets, as in
    ``propagation_matrix`` (the matrix is symmetric for undirected graphs; the official loader
    symmetrises first, so pass ``to_undirected(edge_index)`` for a directed graph). One deviation
    only on graphs that already carry self-loops: those keep weight 1 (PyG's
    ``add_remaining_self_loops``) where the official A + I would make them 2.
    """
    if hops < 1:
        raise ValueError("hops must be >= 1")
    adj = propagation_matrix(edge_index, num_nodes, "gcn")
    out = adj
    for _ in range(hops - 1):  # r sparse products, not a loop over nodes
        out = out @ adj
    return out


def neighbour_block(adjacency: torch.Tensor, batch: torch.Tensor) -> torch.Tensor:
    """Dense ``[B, B]`` block ``adjacency[batch][:, batch]`` of a sparse ``[N, N]`` matrix.

    Sparse COO ``index_select`` on both dimensions, so no ``[N, N]`` or ``[B, N]`` dense
    intermediate is built and repeated indices in ``batch`` (sampling with replacement, as the
    official code does) are handled. On Cora's Â^2 this takes ~1 ms for B = 512 and ~6 ms for
    B = 2000 on one CPU thread, the same as a hand-written CSR row gather.
    """
    coo = adjacency if adjacency.layout == torch.sparse_coo else adjacency.to_sparse_coo()
    return coo.index_select(0, batch).index_select(1, batch).to_dense()


def ncontrast_loss(
    z: torch.Tensor, target: torch.Tensor, batch: torch.Tensor, tau: float = 1.0
) -> torch.Tensor:
    """Graph-MLP's neighbour-contrastive loss on the sampled nodes ``batch``.

    With s_ij = cos(z_i, z_j) / τ over the batch and γ the ``[B, B]`` block of the r-hop target,

        loss = −mean_i log( Σ_{j≠i} γ_ij exp(s_ij) / Σ_{j≠i} exp(s_ij) ),

    the mean running over the batch rows with at least one j ≠ i of γ_ij > 0 (others would give
    log 0; Cold Brew's re-implementation drops them the same way). Returns a zero that keeps the
    graph when no row qualifies.

    Args:
        z: embeddings indexed by ``batch`` (normally all N nodes, from ``GraphMLP``).
        target: either the sparse ``[N, N]`` matrix from ``neighbour_adjacency`` (its batch block
            is gathered here) or an already gathered dense ``[B, B]`` block. Must be >= 0.
        batch: ``[B]`` node indices; repeats are allowed (a repeated node is its own neighbour
            through the self-loop weight of Â^r).
        tau: temperature, dividing the similarity as in the paper (official code: multiplies).
    """
    if target.layout != torch.strided:
        block = neighbour_block(target, batch)
    elif target.shape == (batch.numel(), batch.numel()):
        block = target
    else:
        raise ValueError("a dense target must be the [B, B] block; pass the sparse matrix instead")
    emb = F.normalize(z[batch], dim=1)
    # Shifting by the largest possible similarity 1/τ keeps every exponent ≤ 0 (no overflow) and
    # cancels in the ratio; one exp over the [B, B] matrix is the whole cost. Terms underflow
    # only for 2/τ > ~87 (τ < ~0.023 in float32), far below Graph-MLP's τ ∈ [0.5, 2].
    scores = torch.exp((emb @ emb.T - 1.0) / tau)
    not_self = ~torch.eye(batch.numel(), dtype=torch.bool, device=scores.device)
    weight = block.to(scores.dtype) * not_self
    rows = (weight > 0).any(dim=1)
    if not bool(rows.any()):
        return z.sum() * 0.0
    scores, weight, not_self = scores[rows], weight[rows], not_self[rows]
    numerator = (scores * weight).sum(dim=1)
    denominator = (scores * not_self).sum(dim=1)
    return (denominator.log() - numerator.log()).mean()
