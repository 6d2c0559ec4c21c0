"""Cold Brew head / tail / isolation splits: a hand-checked graph, then Cora and CiteSeer."""

from __future__ import annotations

import pytest
import torch

from helpers import MIRROR, composed, needs_planetoid
from iclr.cli.errors import UserError
from iclr.cli.schema import check
from iclr.methods.coldbrew.splits import (
    StructuralSplit,
    make_split,
    neighbour_degree,
    paper_split,
    repo_split,
)

# Hand-made graph, N = 10. Degrees: 0:6, 1:5, 2:4, 3:4, 4:3, 5:2, 6:2, 7:2, 8:1, 9:1.
# Nodes 7, 8, 9 form a separate path 8-7-9, so isolating 8 and 9 strands node 7.
HAND_EDGES = [
    (0, 1), (0, 2), (0, 3), (0, 4), (0, 5), (0, 6),
    (1, 2), (1, 3), (1, 4), (1, 5), (2, 3), (2, 6), (3, 4),
    (7, 8), (7, 9),
]  # fmt: skip
HAND_N = 10


def both_directions(pairs: list[tuple[int, int]]) -> torch.Tensor:
    """PyG-style edge_index holding each undirected edge in both directions."""
    one_way = torch.tensor(pairs, dtype=torch.long).t()
    return torch.cat([one_way, one_way.flip(0)], dim=1)


def nodes(mask: torch.Tensor) -> set[int]:
    return set(mask.nonzero().squeeze(1).tolist())


def check_invariants(split: StructuralSplit, edge_index: torch.Tensor, num_nodes: int) -> None:
    """Properties every split must have, whatever the rule."""
    src, dst = edge_index
    touches_isolated = split.isolated[src] | split.isolated[dst]
    # Isolated nodes have no entry left; every other entry is kept, in order.
    assert torch.equal(split.edge_index, edge_index[:, ~touches_isolated])
    assert split.removed_edges == int(touches_isolated.sum())
    for mask in (split.head, split.tail, split.isolated):
        assert mask.dtype == torch.bool and mask.shape == (num_nodes,)


def check_paper_invariants(split: StructuralSplit, edge_index: torch.Tensor, n: int, k: int):
    check_invariants(split, edge_index, n)
    head, tail, iso = split.head, split.tail, split.isolated
    assert not (head & tail).any() and not (head & iso).any() and not (tail & iso).any()
    degree = neighbour_degree(edge_index, n)
    remaining = neighbour_degree(split.edge_index, n)
    # Isolated = exactly the zero-degree nodes of the returned graph.
    assert torch.equal(iso, remaining == 0)
    # Head: the k largest original degrees (ties may fall either way).
    assert int(head.sum()) == k
    assert degree[head].min() >= degree[~head].max()
    # Tail: the k smallest non-zero remaining degrees among the other nodes.
    assert int(tail.sum()) == k
    assert (remaining[tail] > 0).all()
    rest = ~(head | tail | iso)
    assert remaining[tail].max() <= remaining[rest].min()
    # The k lowest original degrees are all isolated (more may join, stranded by the removal).
    assert int(iso.sum()) >= k
    assert degree[iso].min() <= degree[~iso].min()


# --------------------------------------------------------------------------- hand-made graph


def test_paper_rule_on_hand_graph():
    edge_index = both_directions(HAND_EDGES)
    split = paper_split(edge_index, HAND_N, fraction=0.2, seed=0)  # k = 2 per group
    assert nodes(split.head) == {0, 1}
    assert nodes(split.isolated) == {7, 8, 9}  # 8, 9 lowest degree; 7 stranded by their removal
    assert nodes(split.tail) == {5, 6}  # remaining degrees 2, 2 (next lowest: node 4 with 3)
    assert split.removed_edges == 4  # 7-8 and 7-9, both directions
    assert split.rule == "paper"
    check_paper_invariants(split, edge_index, HAND_N, 2)


def test_repo_rule_on_hand_graph():
    edge_index = both_directions(HAND_EDGES)
    split = repo_split(edge_index, HAND_N)
    # deg + 1 = [7, 6, 5, 5, 4, 3, 3, 3, 2, 2]; first median 3.5 -> pool {5, 6, 7, 8, 9}, then
    # stable (median 3). Sorted by degree: 8, 9 | 5, 6, 7 -> isolated {8, 9}, tail {5, 6, 7}.
    assert nodes(split.isolated) == {8, 9}
    # Node 7 has lost every neighbour, but the repo leaves it in the tail.
    assert nodes(split.tail) == {5, 6, 7}
    assert neighbour_degree(split.edge_index, HAND_N)[7] == 0
    # Head medians 3.5, 5, 5.5, 6.5, 7 -> {0}.
    assert nodes(split.head) == {0}
    assert split.removed_edges == 4 and split.rule == "repo"
    check_invariants(split, edge_index, HAND_N)


def test_degree_ignores_duplicates_direction_and_self_loops():
    edge_index = both_directions(HAND_EDGES)
    messy = torch.cat([edge_index, edge_index[:, :5], torch.tensor([[3, 8], [3, 8]])], dim=1)
    assert torch.equal(neighbour_degree(messy, HAND_N), neighbour_degree(edge_index, HAND_N))
    one_way = torch.tensor(HAND_EDGES).t()
    assert torch.equal(neighbour_degree(one_way, HAND_N), neighbour_degree(edge_index, HAND_N))
    clean, dirty = paper_split(edge_index, HAND_N, 0.2), paper_split(messy, HAND_N, 0.2)
    for name in ("head", "tail", "isolated"):
        assert torch.equal(getattr(clean, name), getattr(dirty, name))
    # Removed entries are counted as given: the self-loop on isolated node 8 goes too.
    assert dirty.removed_edges == 5
    check_invariants(dirty, messy, HAND_N)


def test_make_split_dispatches_and_rejects_bad_inputs():
    edge_index = both_directions(HAND_EDGES)
    assert make_split("repo", edge_index, HAND_N).rule == "repo"
    assert make_split("paper", edge_index, HAND_N, fraction=0.2).rule == "paper"
    # an unknown rule is refused by the split config's options before a job runs
    with pytest.raises(UserError, match="split.rule='papr': choose one of paper, repo"):
        check(composed("method=gcn_se", "split.rule=papr"))
    with pytest.raises(ValueError, match="fraction"):
        paper_split(edge_index, HAND_N, fraction=0.5)
    with pytest.raises(ValueError, match="outside"):
        paper_split(edge_index, 5)


# --------------------------------------------------------------------------- Cora / CiteSeer


@pytest.fixture(scope="module")
def planetoid(data_root):
    """Load each Planetoid graph once per module: name -> (edge_index, num_nodes)."""
    from iclr.data import load_dataset

    graphs = {}

    def get(name: str) -> tuple[torch.Tensor, int]:
        if name not in graphs:
            data = load_dataset(composed(f"dataset={name}").dataset, data_root, MIRROR)
            graphs[name] = (data.edge_index, data.num_nodes)
        return graphs[name]

    return get


@needs_planetoid
@pytest.mark.parametrize(("name", "k", "zero_degree"), [("cora", 271, 0), ("citeseer", 333, 48)])
def test_paper_rule_on_planetoid(planetoid, name, k, zero_degree):
    edge_index, n = planetoid(name)
    degree = neighbour_degree(edge_index, n)
    assert int((degree == 0).sum()) == zero_degree
    split = paper_split(edge_index, n, fraction=0.1, seed=0)
    check_paper_invariants(split, edge_index, n, k)
    assert split.isolated[degree == 0].all()  # every zero-degree node is isolated
    # About 10 % each; isolation grows a little with the nodes stranded by the removal.
    assert 0.10 * n <= int(split.isolated.sum()) <= 0.13 * n


@needs_planetoid
def test_paper_rule_seeds_on_cora(planetoid):
    edge_index, n = planetoid("cora")
    first, again, other = (paper_split(edge_index, n, seed=s) for s in (0, 0, 1))
    for name in ("head", "tail", "isolated", "edge_index"):
        assert torch.equal(getattr(first, name), getattr(again, name))
    # Cora has far more degree-1 nodes than the isolation budget, so the tie-break matters.
    assert not torch.equal(first.isolated, other.isolated)
    check_paper_invariants(other, edge_index, n, 271)


@needs_planetoid
@pytest.mark.parametrize(
    ("name", "isolated", "tail", "head", "removed"),
    [("cora", 534, 534, 286, 1040), ("citeseer", 689, 690, 339, 1156)],
)
def test_repo_rule_counts_on_planetoid(planetoid, name, isolated, tail, head, removed):
    edge_index, n = planetoid(name)
    split = make_split("repo", edge_index, n)
    assert split.sizes() == {
        "head": head,
        "tail": tail,
        "isolated": isolated,
        "removed_edges": removed,
    }
    check_invariants(split, edge_index, n)
    assert not (split.head & (split.tail | split.isolated)).any()
    degree = neighbour_degree(edge_index, n)
    assert degree[split.isolated].max() <= degree[split.tail].min()
