"""Labels-only label propagation, the ``z_LP`` term of Cold Brew's Feature Contribution Ratio.

Follows the C&S outcome-correlation loop (Huang et al., 2020) that Cold Brew's repository runs
for its LP-only baseline (``Label_propagation_model/outcome_correlation.py``: ``label_propagation``
→ ``general_outcome_correlation``) and PyG's ``torch_geometric.nn.models.LabelPropagation``:

    Y⁰ = one-hot labels on training nodes, zeros elsewhere
    Y ← clamp((1 − α) · Y⁰ + α · P · Y, 0, 1)        (``iterations`` times, starting from Y⁰)

so α weights the *propagated* term (PyG/C&S convention): the paper's Cora setting α = 0.1
(Table 9) keeps 90 % of the seed labels at every step. The clamp to [0, 1] is the post-step of
both C&S and PyG (the symmetric-normalised matrix can have row sums above 1).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch_geometric.nn.conv.gcn_conv import gcn_norm
from torch_geometric.utils import to_torch_csr_tensor, to_undirected

from iclr.methods.baselines.sparse import propagation_matrix

MATRICES = ("laplacian", "adjacency")


def lp_matrix(edge_index: torch.Tensor, num_nodes: int, matrix: str) -> torch.Tensor:
    """Target-major CSR propagation matrix ``P`` (``out = P @ Y``) for label propagation.

    ``"laplacian"``: D^-1/2 A D^-1/2 without self-loops (C&S's ``DAD``, PyG ``LabelPropagation``'s
    ``gcn_norm(..., add_self_loops=False)``; the paper's "normalised Laplacian" propagation).
    ``"adjacency"``: D^-1 A, the row-normalised adjacency (C&S's ``DA``): each node takes the mean
    of its neighbours' scores. Isolated nodes get empty rows in both.
    """
    if matrix == "laplacian":
        edge_index, weight = gcn_norm(edge_index, None, num_nodes, add_self_loops=False)
        # gcn_norm keeps PyG's (source, target) order; rows of P are targets.
        return to_torch_csr_tensor(edge_index.flip(0), weight, size=(num_nodes, num_nodes))
    # "adjacency" (the config's options are checked before a job runs)
    return propagation_matrix(edge_index, num_nodes, "mean")


@torch.no_grad()
def label_propagation(
    edge_index: torch.Tensor,
    num_nodes: int,
    y: torch.Tensor,
    train_mask: torch.Tensor,
    num_classes: int,
    iterations: int = 50,
    alpha: float = 0.1,
    matrix: str = "laplacian",
) -> torch.Tensor:
    """Soft label scores ``[N, num_classes]`` from the training labels alone (no features).

    Args:
        edge_index: ``[2, E]`` edges; symmetrised first, as Cold Brew's ``process_adj`` does
            before C&S propagation (a no-op on the undirected Planetoid graphs, not on WebKB).
        num_nodes: number of nodes N.
        y: ``[N]`` integer labels; only entries selected by ``train_mask`` are read.
        train_mask: boolean ``[N]`` mask or index tensor of the labelled (seed) nodes.
        num_classes: number of classes C.
        iterations: number of propagation steps (0 returns Y⁰ itself).
        alpha: weight of the propagated term, PyG/C&S convention (see the module docstring).
        matrix: ``"laplacian"`` (D^-1/2 A D^-1/2) or ``"adjacency"`` (D^-1 A), see ``lp_matrix``.

    Nodes that no seed reaches within ``iterations`` hops keep an all-zero row; their argmax is
    class 0, which is what the C&S code scores for them too.
    """
    if iterations < 0:
        raise ValueError("iterations must be >= 0")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError("alpha must lie in [0, 1]")
    adj = lp_matrix(to_undirected(edge_index, num_nodes=num_nodes), num_nodes, matrix)
    seeds = torch.zeros(num_nodes, num_classes, device=y.device)
    seeds[train_mask] = F.one_hot(y.view(-1)[train_mask], num_classes).float()
    residual = (1.0 - alpha) * seeds
    out = seeds
    for _ in range(iterations):  # loop over propagation steps; each step is one sparse product
        out = (alpha * (adj @ out) + residual).clamp_(0.0, 1.0)
    return out
