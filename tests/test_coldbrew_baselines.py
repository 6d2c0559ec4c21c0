"""Cold Brew's baselines and graph statistics: FCR, homophily, label propagation, Graph-MLP."""

from __future__ import annotations

import functools
import itertools
import math

import pytest
import torch
import torch.nn.functional as F
from torch_geometric.nn.models import LabelPropagation
from torch_geometric.utils import homophily as pyg_homophily
from torch_geometric.utils import to_undirected

from helpers import composed, mirror_has, needs_planetoid
from iclr.methods.coldbrew.fcr import feature_contribution_ratio, homophily
from iclr.methods.coldbrew.graphmlp import (
    GraphMLP,
    ncontrast_loss,
    neighbour_adjacency,
    neighbour_block,
)
from iclr.methods.coldbrew.label_propagation import label_propagation

needs_citeseer = pytest.mark.skipif(
    not mirror_has("planetoid/CiteSeer"), reason="CiteSeer mirror not found"
)


@functools.cache
def _planetoid(name: str):
    """Load a Planetoid graph once per module (the data root is one per session)."""
    from iclr.data import load_dataset

    cfg = composed(f"dataset={name}")
    return load_dataset(cfg.dataset, cfg.paths.data_dir, cfg.paths.mirror)


@pytest.fixture
def cora(iclr_env):
    return _planetoid("cora")


@pytest.fixture
def citeseer(iclr_env):
    return _planetoid("citeseer")


def _random_graph(n: int, m: int, seed: int) -> torch.Tensor:
    """Undirected random multigraph with self-loops and the last 3 nodes isolated."""
    gen = torch.Generator().manual_seed(seed)
    edge_index = torch.randint(0, n - 3, (2, m), generator=gen)
    return to_undirected(edge_index, num_nodes=n)


def _accuracy(scores: torch.Tensor, y: torch.Tensor, mask: torch.Tensor) -> float:
    return (scores.argmax(1)[mask] == y[mask]).float().mean().item()


# ---------------------------------------------------------------- FCR

# Paper Table 11: (GNN, MLP, LP, printed FCR %).
TABLE_11 = {
    "cora": (86.96, 69.02, 78.18, 32.86),
    "citeseer": (72.44, 56.59, 45.00, 63.39),
    "pubmed": (75.96, 73.51, 67.8, 76.91),
    "arxiv": (71.54, 54.89, 68.26, 16.45),
    "chameleon": (68.51, 58.65, 41.01, 73.61),
    "squirrel": (31.95, 38.51, 22.85, 141.91),
    "actor": (59.79, 37.93, 29.69, 57.93),
    "cornell": (65.1, 86.26, 32.06, 139.04),
    "texas": (61.08, 83.33, 52.08, 171.2),
    "wisconsin": (81.62, 85.42, 40.62, 108.48),
}


@pytest.mark.parametrize("name", sorted(TABLE_11))
def test_fcr_reproduces_paper_table_11(name):
    gnn, mlp, lp, printed = TABLE_11[name]
    # Squirrel: the printed inputs give 141.89; 141.91 needs the unrounded accuracies (see below).
    tolerance = 0.025 if name == "squirrel" else 0.01
    assert feature_contribution_ratio(gnn, mlp, lp) == pytest.approx(printed, abs=tolerance)


@pytest.mark.parametrize("name", sorted(TABLE_11))
def test_fcr_printed_values_lie_within_input_rounding(name):
    """Every printed FCR is reachable from inputs within ±0.005 of the printed accuracies."""
    gnn, mlp, lp, printed = TABLE_11[name]
    corners = [
        feature_contribution_ratio(gnn + a, mlp + b, lp + c)
        for a, b, c in itertools.product((-0.005, 0.005), repeat=3)
    ]
    assert min(corners) - 0.005 <= printed <= max(corners) + 0.005


def test_fcr_branches_scale_and_degenerate_case():
    assert feature_contribution_ratio(80.0, 80.0, 60.0) == pytest.approx(100.0)  # MLP = GNN
    assert feature_contribution_ratio(80.0, 60.0, 80.0) == pytest.approx(0.0)  # LP = GNN
    assert feature_contribution_ratio(0.8696, 0.6902, 0.7818) == pytest.approx(
        feature_contribution_ratio(86.96, 69.02, 78.18)
    )
    assert math.isnan(feature_contribution_ratio(70.0, 70.0, 70.0))


# ---------------------------------------------------------------- homophily


def _brute_force_homophily(edge_index: torch.Tensor, y: torch.Tensor, n: int) -> float:
    neighbours: list[set[int]] = [set() for _ in range(n)]
    for u, v in edge_index.t().tolist():
        if u != v:
            neighbours[v].add(u)
    ratios = [
        sum(y[u] == y[v] for u in nbrs) / len(nbrs) for v, nbrs in enumerate(neighbours) if nbrs
    ]
    return sum(ratios) / len(ratios)


def test_homophily_matches_brute_force_on_random_graph():
    n = 40
    edge_index = _random_graph(n, 120, seed=0)
    # Self-loops and a duplicated edge must be ignored.
    edge_index = torch.cat([edge_index, torch.tensor([[0, 5, 1], [0, 5, 2]])], dim=1)
    y = torch.randint(0, 3, (n,), generator=torch.Generator().manual_seed(1))
    expected = _brute_force_homophily(edge_index, y.tolist(), n)
    assert homophily(edge_index, y, n) == pytest.approx(expected, abs=1e-6)
    assert math.isnan(homophily(torch.empty(2, 0, dtype=torch.long), y, n))


@needs_planetoid
def test_homophily_equals_pyg_node_homophily_on_cora(cora):
    ours = homophily(cora.edge_index, cora.y, cora.num_nodes)
    # Cora has no isolated nodes, self-loops or duplicate edges: the definitions coincide.
    assert ours == pytest.approx(pyg_homophily(cora.edge_index, cora.y, method="node"), abs=1e-6)
    assert round(100 * ours) == 83  # paper Table 2, β(G) = 83 %


@needs_citeseer
def test_homophily_differs_from_pyg_only_by_isolated_nodes_on_citeseer(citeseer):
    ours = homophily(citeseer.edge_index, citeseer.y, citeseer.num_nodes)
    pyg = pyg_homophily(citeseer.edge_index, citeseer.y, method="node")
    non_isolated = torch.zeros(citeseer.num_nodes, dtype=torch.bool)
    non_isolated[citeseer.edge_index[1]] = True
    assert int((~non_isolated).sum()) == 48
    # PyG scores the 48 isolated nodes 0 and averages over all nodes.
    assert pyg == pytest.approx(ours * non_isolated.float().mean().item(), abs=1e-6)


# ---------------------------------------------------------------- label propagation


@needs_planetoid
def test_label_propagation_paper_cora_settings_beat_chance(cora):
    # Paper Table 9, Cora: 50 propagations, normalised Laplacian, α = 0.1.
    scores = label_propagation(
        cora.edge_index, cora.num_nodes, cora.y, cora.train_mask, 7, 50, 0.1, "laplacian"
    )
    assert scores.shape == (cora.num_nodes, 7)
    assert scores.min() >= 0.0 and scores.max() <= 1.0
    assert _accuracy(scores, cora.y, cora.test_mask) >= 0.6  # chance is 1/7; we get 0.673


@needs_planetoid
def test_label_propagation_zero_iterations_gives_seed_labels(cora):
    scores = label_propagation(
        cora.edge_index, cora.num_nodes, cora.y, cora.train_mask, 7, iterations=0
    )
    expected = torch.zeros(cora.num_nodes, 7)
    expected[cora.train_mask] = F.one_hot(cora.y[cora.train_mask], 7).float()
    assert torch.equal(scores, expected)


@needs_planetoid
def test_label_propagation_equals_pyg_label_propagation(cora):
    for alpha, iterations in [(0.1, 50), (0.9, 10)]:
        ours = label_propagation(
            cora.edge_index, cora.num_nodes, cora.y, cora.train_mask, 7, iterations, alpha
        )
        pyg = LabelPropagation(iterations, alpha)(cora.y, cora.edge_index, mask=cora.train_mask)
        torch.testing.assert_close(ours, pyg, rtol=1e-5, atol=1e-6)


def test_label_propagation_adjacency_matches_dense_row_normalised_formula():
    n, classes, alpha = 30, 3, 0.7
    edge_index = _random_graph(n, 60, seed=2)
    edge_index = edge_index[:, edge_index[0] != edge_index[1]]
    y = torch.randint(0, classes, (n,), generator=torch.Generator().manual_seed(3))
    train = torch.arange(n) < 10
    adj = torch.zeros(n, n)
    adj[edge_index[1], edge_index[0]] = 1.0
    row_norm = adj / adj.sum(1, keepdim=True).clamp(min=1)  # isolated rows stay zero
    seeds = torch.zeros(n, classes)
    seeds[train] = F.one_hot(y[train], classes).float()
    expected = seeds
    for _ in range(5):
        expected = (alpha * row_norm @ expected + (1 - alpha) * seeds).clamp(0, 1)
    ours = label_propagation(edge_index, n, y, train, classes, 5, alpha, "adjacency")
    torch.testing.assert_close(ours, expected)


# ---------------------------------------------------------------- Graph-MLP


def _brute_force_ncontrast(z, block, tau):
    zn = F.normalize(z, dim=1).tolist()
    size = len(zn)
    terms = []
    for i in range(size):
        sims = [sum(a * b for a, b in zip(zn[i], zn[j], strict=True)) / tau for j in range(size)]
        num = sum(block[i][j] * math.exp(sims[j]) for j in range(size) if j != i)
        den = sum(math.exp(sims[j]) for j in range(size) if j != i)
        if num > 0:
            terms.append(-math.log(num / den))
    return sum(terms) / len(terms)


def _two_cliques(size: int) -> torch.Tensor:
    """Two disjoint cliques of ``size`` nodes each (no self-loops)."""
    block = torch.ones(size, size) - torch.eye(size)
    adj = torch.block_diag(block, block)
    return adj.nonzero().t()


def test_neighbour_adjacency_one_hop_has_the_pattern_of_a_plus_i():
    edge_index = _random_graph(25, 40, seed=4)
    edge_index = edge_index[:, edge_index[0] != edge_index[1]]
    one_hop = neighbour_adjacency(edge_index, 25, hops=1)
    assert one_hop.is_sparse_csr
    expected = torch.eye(25, dtype=torch.bool)
    expected[edge_index[1], edge_index[0]] = True
    assert torch.equal(one_hop.to_dense() != 0, expected)
    two_hop = neighbour_adjacency(edge_index, 25, hops=2).to_dense()
    torch.testing.assert_close(two_hop, one_hop.to_dense() @ one_hop.to_dense())


def test_neighbour_block_handles_repeated_batch_indices():
    target = neighbour_adjacency(_random_graph(30, 50, seed=5), 30, hops=2)
    batch = torch.tensor([3, 7, 3, 29, 0, 12, 7, 27])  # 27 and 28, 29 are isolated
    torch.testing.assert_close(neighbour_block(target, batch), target.to_dense()[batch][:, batch])


def test_ncontrast_loss_equals_brute_force_per_row():
    torch.manual_seed(0)
    n = 10
    edge_index = torch.tensor([[0, 1, 1, 2, 3, 4, 6], [1, 0, 2, 1, 4, 3, 7]])
    edge_index = to_undirected(edge_index, num_nodes=n)
    target = neighbour_adjacency(edge_index, n, hops=1)
    z = torch.randn(n, 5)
    batch = torch.tensor([0, 1, 2, 3, 4, 5, 6, 9])  # 5 and 9 have no neighbour: rows skipped
    block = target.to_dense()[batch][:, batch]
    for tau in (0.5, 1.0, 2.0):
        expected = _brute_force_ncontrast(z[batch], block.tolist(), tau)
        assert ncontrast_loss(z, target, batch, tau).item() == pytest.approx(expected, rel=1e-5)
        # A pre-gathered dense [B, B] block gives the same value.
        assert ncontrast_loss(z, block, batch, tau).item() == pytest.approx(expected, rel=1e-5)


def test_ncontrast_loss_decreases_when_neighbours_are_pulled_together():
    torch.manual_seed(0)
    size = 6
    edge_index = _two_cliques(size)
    target = neighbour_adjacency(edge_index, 2 * size, hops=1)
    z = torch.randn(2 * size, 8, requires_grad=True)
    batch = torch.arange(2 * size)
    loss = ncontrast_loss(z, target, batch)
    loss.backward()
    assert torch.isfinite(z.grad).all()
    clique = torch.arange(2 * size) // size
    centres = torch.stack([z[clique == c].mean(0) for c in (0, 1)])[clique]
    previous = loss.item()
    for t in (0.3, 0.6, 0.9):
        pulled = ((1 - t) * z + t * centres).detach()
        current = ncontrast_loss(pulled, target, batch).item()
        assert current < previous
        previous = current


def test_ncontrast_loss_without_neighbours_in_batch_is_a_connected_zero():
    z = torch.randn(6, 4, requires_grad=True)
    target = neighbour_adjacency(torch.tensor([[0, 1], [1, 0]]), 6, hops=1)
    loss = ncontrast_loss(z, target, torch.tensor([2, 3, 4]))
    loss.backward()
    assert loss.item() == 0.0 and torch.equal(z.grad, torch.zeros_like(z))


def test_graphmlp_dense_and_csr_inputs_agree_in_eval_mode():
    torch.manual_seed(0)
    x = (torch.rand(20, 50) < 0.1).float()
    model = GraphMLP(50, 16, 3).eval()
    logits, z = model(x)
    assert logits.shape == (20, 3) and z.shape == (20, 16)
    logits_csr, z_csr = model(x.to_sparse_csr())
    torch.testing.assert_close(logits_csr, logits, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(z_csr, z, rtol=1e-5, atol=1e-5)
    model.train()  # dropout active: two passes differ
    assert not torch.equal(model(x)[1], model(x)[1])


@needs_planetoid
def test_graphmlp_learns_cora_public_split(cora):
    torch.manual_seed(0)
    x = cora.x.to_sparse_csr()
    n = cora.num_nodes
    target = neighbour_adjacency(cora.edge_index, n, hops=2)
    model = GraphMLP(cora.num_features, 256, 7)
    optimiser = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)
    # Short run (official: 400 epochs, batch 2000); the batch is drawn without replacement.
    for _ in range(100):
        model.train()
        optimiser.zero_grad()
        logits, z = model(x)
        batch = torch.randperm(n)[:512]
        loss = F.cross_entropy(logits[cora.train_mask], cora.y[cora.train_mask])
        loss = loss + 1.0 * ncontrast_loss(z, target, batch, tau=1.0)
        loss.backward()
        optimiser.step()
    model.eval()
    with torch.no_grad():
        logits, _ = model(x)
    accuracy = _accuracy(logits, cora.y, cora.test_mask)
    majority = cora.y[cora.train_mask].bincount().argmax()
    majority_acc = (cora.y[cora.test_mask] == majority).float().mean().item()
    assert accuracy > max(0.6, majority_acc + 0.3), (accuracy, majority_acc)
