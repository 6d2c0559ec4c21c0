"""Cold Brew teacher (GCN + Structural Embedding): shapes, exact maths, SE behaviour, errors."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F

from iclr.methods.baselines.sparse import propagation_matrix
from iclr.methods.coldbrew.teacher import NORMS, RESIDUALS, SEGCN

IN_DIM, HIDDEN, OUT_DIM = 12, 8, 3


def random_graph(
    n: int, num_edges: int, seed: int = 0, isolated: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric random edge index on ``n`` nodes (optionally none touching ``isolated``) + adj."""
    gen = torch.Generator().manual_seed(seed)
    edge_index = torch.randint(0, n, (2, num_edges), generator=gen)
    edge_index = edge_index[:, edge_index[0] != edge_index[1]]
    if isolated is not None:
        keep = (edge_index[0] != isolated) & (edge_index[1] != isolated)
        edge_index = edge_index[:, keep]
    edge_index = torch.cat([edge_index, edge_index.flip(0)], dim=1).unique(dim=1)
    return edge_index, propagation_matrix(edge_index, n, "gcn")


def sparse_features(n: int, dim: int, density: float = 0.3, seed: int = 0) -> torch.Tensor:
    """Dense bag-of-words-like 0/1 features (convert with ``.to_sparse_csr()``)."""
    gen = torch.Generator().manual_seed(seed)
    return (torch.rand(n, dim, generator=gen) < density).float()


@pytest.fixture(scope="module")
def graph() -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    n = 30
    _, adj = random_graph(n, 80)
    return sparse_features(n, IN_DIM), adj


@pytest.mark.parametrize("layers", [2, 3, 16])
def test_output_shapes_every_residual_and_norm(graph, layers: int) -> None:
    x, adj = graph
    n = x.size(0)
    for residual, norm in itertools.product(RESIDUALS, NORMS):
        model = SEGCN(IN_DIM, HIDDEN, OUT_DIM, n, layers, 0.5, "all", residual, norm)
        model.train()
        logits, pres = model.forward_with_layers(x, adj)
        assert logits.shape == (n, OUT_DIM), (residual, norm)
        assert [p.shape for p in pres] == [(n, HIDDEN)] * (layers - 1) + [(n, OUT_DIM)]
        model.eval()
        assert model(x, adj).shape == (n, OUT_DIM)
        assert torch.isfinite(model(x, adj)).all(), (residual, norm)


@pytest.mark.parametrize("residual", RESIDUALS)
def test_64_layers_forward_backward(graph, residual: str) -> None:
    x, adj = graph
    model = SEGCN(IN_DIM, HIDDEN, OUT_DIM, x.size(0), 64, 0.5, "all", residual, "pair")
    logits = model(x.to_sparse_csr(), adj)
    loss = F.cross_entropy(logits, torch.arange(x.size(0)) % OUT_DIM)
    (loss + 1e-3 * model.structural_penalty()).backward()
    assert torch.isfinite(loss)
    assert all(p.grad is not None for p in model.parameters())
    assert model.layers[0].lin.weight.grad.abs().sum() > 0  # gradient reaches the first layer


def test_structural_penalty(graph) -> None:
    x, adj = graph
    n = x.size(0)
    plain = SEGCN(IN_DIM, HIDDEN, OUT_DIM, n, layers=4, se_layers="none")
    penalty = plain.structural_penalty()
    assert penalty.dim() == 0 and penalty.item() == 0.0

    model = SEGCN(IN_DIM, HIDDEN, OUT_DIM, n, layers=4, se_layers="101", se_init_std=0.1)
    ses = [layer.se for layer in model.layers if layer.se is not None]
    assert model.structural_embeddings() == ses
    assert plain.structural_embeddings() == []
    assert [e.shape for e in ses] == [(n, HIDDEN), (n, OUT_DIM)]  # first and last only
    brute = sum(float(v) ** 2 for e in ses for v in e.detach().flatten())
    assert model.structural_penalty().dim() == 0
    assert model.structural_penalty().item() == pytest.approx(brute, rel=1e-5)
    model.structural_penalty().backward()
    assert torch.allclose(ses[0].grad, 2 * ses[0].detach())


@pytest.mark.parametrize(
    ("se_layers", "expected"),
    [
        ("none", [False] * 4),
        ("first", [True, False, False, False]),
        ("last", [False, False, False, True]),
        ("all", [True] * 4),
        ("100", [True, False, False, False]),
        ("010", [False, True, True, False]),
        ("001", [False, False, False, True]),
        ("111", [True] * 4),
    ],
)
def test_se_layer_mapping(se_layers: str, expected: list[bool]) -> None:
    model = SEGCN(IN_DIM, HIDDEN, OUT_DIM, 5, layers=4, se_layers=se_layers)
    assert [layer.se is not None for layer in model.layers] == expected


def test_two_layer_matches_hand_computed_gcn(graph) -> None:
    x, adj = graph
    model = SEGCN(IN_DIM, HIDDEN, OUT_DIM, x.size(0), layers=2, se_layers="none").eval()
    with torch.no_grad():
        for layer in model.layers:  # non-zero biases, so their placement is tested too
            layer.bias.normal_()
    w1, w2 = (layer.lin.weight for layer in model.layers)
    b1, b2 = (layer.bias for layer in model.layers)
    a = adj.to_dense()
    # Independent dense A_hat = D^-1/2 (A + I) D^-1/2 from the same graph.
    binary = (a != 0).float()
    d = binary.sum(1).rsqrt()
    assert torch.allclose(a, d[:, None] * binary * d[None, :], atol=1e-6)
    expected = a @ torch.relu(a @ x @ w1.T + b1) @ w2.T + b2
    assert torch.allclose(model(x, adj), expected, atol=1e-5)


@pytest.mark.parametrize(("residual", "norm"), [("none", "none"), ("jumping", "group")])
def test_dense_and_csr_input_agree(graph, residual: str, norm: str) -> None:
    x, adj = graph
    model = SEGCN(
        IN_DIM, HIDDEN, OUT_DIM, x.size(0), 3, 0.5, "all", residual, norm, se_init_std=0.1
    )
    model.eval()
    dense_logits, dense_pres = model.forward_with_layers(x, adj)
    csr_logits, csr_pres = model.forward_with_layers(x.to_sparse_csr(), adj)
    assert torch.allclose(dense_logits, csr_logits, atol=1e-5)
    for d, c in zip(dense_pres, csr_pres, strict=True):
        assert torch.allclose(d, c, atol=1e-5)
    # Training mode (sparse dropout) also runs and keeps gradients on a CSR input.
    model.train()
    model(x.to_sparse_csr(), adj).sum().backward()
    assert model.layers[0].lin.weight.grad is not None


def test_cached_transpose_backward_matches_autograd(graph, monkeypatch) -> None:
    """The custom ``Propagate`` backward equals autograd's, also for a non-symmetric matrix."""
    x, sym_adj = graph
    n = x.size(0)
    gen = torch.Generator().manual_seed(1)
    directed = torch.rand(n, n, generator=gen) * (torch.rand(n, n, generator=gen) < 0.1)
    model = SEGCN(IN_DIM, HIDDEN, OUT_DIM, n, 3, 0.0, "all", se_init_std=0.1)

    def grads(adj: torch.Tensor) -> list[torch.Tensor]:
        model.zero_grad()
        (model(x, adj) ** 2).sum().backward()
        return [p.grad.clone() for p in model.parameters()]

    for adj in (sym_adj, directed.to_sparse_csr(), sym_adj):  # the cache follows the graph
        fast = grads(adj)
        with monkeypatch.context() as patch:
            patch.setattr(SEGCN, "_transposed", lambda self, adj: None)  # plain adj @ z
            reference = grads(adj)
        for a, b in zip(fast, reference, strict=True):
            assert torch.allclose(a, b, atol=1e-5)


def test_se_changes_isolated_node_output() -> None:
    n, lonely = 20, 7
    edge_index, adj = random_graph(n, 60, isolated=lonely)
    assert not (edge_index == lonely).any()
    x = sparse_features(n, IN_DIM)
    torch.manual_seed(0)
    model = SEGCN(IN_DIM, HIDDEN, OUT_DIM, n, layers=2, dropout=0.0, se_layers="first").eval()
    before = model(x, adj)
    plain = SEGCN(IN_DIM, HIDDEN, OUT_DIM, n, layers=2, se_layers="none").eval()
    plain.load_state_dict(model.state_dict(), strict=False)
    assert torch.equal(before, plain(x, adj))  # SE starts at zero: the plain GCN

    # An isolated node's prediction depends on its own SE row (its only "neighbour").
    logits = model(x, adj)
    grad = torch.autograd.grad(logits[lonely].sum(), model.layers[0].se)[0]
    assert grad[lonely].abs().sum() > 0
    with torch.no_grad():
        model.layers[0].se[lonely] = torch.randn(HIDDEN)
    after = model(x, adj)
    assert not torch.allclose(after[lonely], before[lonely])
    # ... and, with no edges, that row reaches no other node.
    others = torch.arange(n) != lonely
    assert torch.allclose(after[others], before[others])


def fit_accuracy(model: SEGCN, x: torch.Tensor, adj: torch.Tensor, y: torch.Tensor) -> float:
    """Train on every node's label; return the final training accuracy."""
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(200):  # seed 0 fits in < 100 steps; 29/30 seeds fit within 100
        optimizer.zero_grad()
        F.cross_entropy(model(x, adj), y).backward()
        optimizer.step()
    model.eval()
    return (model(x, adj).argmax(1) == y).float().mean().item()


def test_se_memorises_labels_that_features_cannot_explain() -> None:
    # A ring is vertex-transitive: with identical features every node gets the same
    # representation in a plain GCN, so only per-node SE can separate random labels.
    n = 10
    ring = torch.stack([torch.arange(n), (torch.arange(n) + 1) % n])
    adj = propagation_matrix(torch.cat([ring, ring.flip(0)], dim=1), n, "gcn")
    x = torch.ones(n, 4)
    y = torch.tensor([0, 1, 2, 0, 2, 1, 1, 0, 2, 2])
    torch.manual_seed(0)
    with_se = SEGCN(4, 16, 3, n, layers=2, dropout=0.0, se_layers="first")
    assert fit_accuracy(with_se, x, adj, y) == 1.0
    without_se = SEGCN(4, 16, 3, n, layers=2, dropout=0.0, se_layers="none")
    assert fit_accuracy(without_se, x, adj, y) <= (y.bincount().max() / n).item()


def test_too_few_layers_raise() -> None:
    # string options (se_layers, residual, norm) are checked by the config schema before a job
    # runs: tests/test_coldbrew_options.py
    with pytest.raises(ValueError, match="layers"):
        SEGCN(IN_DIM, HIDDEN, OUT_DIM, 5, layers=1)


def test_wrong_node_count_with_se_raises(graph) -> None:
    x, adj = graph
    model = SEGCN(IN_DIM, HIDDEN, OUT_DIM, x.size(0) + 1)
    with pytest.raises(ValueError, match="rows"):
        model(x, adj)
