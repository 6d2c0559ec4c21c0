"""Cold Brew Table 4's link-prediction protocol: what is held out, and a filtered MRR that agrees
with a brute-force count; the Geom-GCN loaders of Table 11; option checks before a job runs."""

from __future__ import annotations

import pytest
import torch

from helpers import composed, mirror_has
from iclr.cli.errors import UserError
from iclr.cli.schema import check
from iclr.methods.coldbrew.link_prediction import link_task_from_graph, mean_reciprocal_rank
from iclr.methods.coldbrew.splits import paper_split


def random_graph(n: int = 60, p: float = 0.08, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    upper = torch.triu(torch.rand(n, n, generator=generator) < p, diagonal=1)
    src, dst = upper.nonzero().t()
    return torch.cat([torch.stack([src, dst]), torch.stack([dst, src])], dim=1)


def test_link_task_holds_out_the_isolated_edges_and_a_validation_share():
    n = 60
    edges = random_graph(n)
    split = paper_split(edges, n, fraction=0.1, seed=0)
    task = link_task_from_graph(torch.rand(n, 5), edges, split, n, val_fraction=0.2, seed=0)
    src, dst = task.edge_index
    # training graph: no isolated endpoint, no validation pair, symmetric
    assert not (task.isolated[src] | task.isolated[dst]).any()
    train_keys = set((src * n + dst).tolist())
    val_keys = set((task.val_queries[0] * n + task.val_queries[1]).tolist())
    assert not train_keys & val_keys and set((dst * n + src).tolist()) == train_keys
    # test queries: exactly the original entries leaving an isolated node
    expected = {(int(a), int(b)) for a, b in edges.t() if split.isolated[a]}
    assert {tuple(q) for q in task.test_queries.t().tolist()} == expected and expected
    original = len(set((edges[0] * n + edges[1]).tolist()))
    removed_isolated = edges.size(1) - split.edge_index.size(1)
    assert len(train_keys) + len(val_keys) == original - removed_isolated


def test_filtered_mrr_matches_brute_force():
    n = 30
    edges = random_graph(n, p=0.2, seed=1)
    z = torch.randn(n, 4, generator=torch.Generator().manual_seed(2))
    z[3] = z[4]  # a tie, counted half
    known = torch.unique(torch.cat([edges[0] * n + edges[1], edges[1] * n + edges[0]]))
    queries = edges[:, :25]
    neighbours = {i: set(edges[1][edges[0] == i].tolist()) for i in range(n)}
    expected = []
    for i, j in queries.t().tolist():
        pos = float(z[i] @ z[j])
        others = [w for w in range(n) if w != i and w not in neighbours[i]]
        scores = [float(z[i] @ z[w]) for w in others]
        rank = 1 + sum(s > pos for s in scores) + 0.5 * sum(s == pos for s in scores)
        expected.append(1.0 / rank)
    ours = mean_reciprocal_rank(z, queries, known)
    assert ours == pytest.approx(sum(expected) / len(expected), rel=1e-6)


@pytest.mark.skipif(not mirror_has("webkb/cornell"), reason="WebKB mirror not found")
def test_geom_gcn_loader_symmetrises_and_picks_one_split(tmp_path):
    from iclr.data import load_dataset

    cfg = composed("dataset=cornell", "dataset.geom_split=3")
    data = load_dataset(cfg.dataset, cfg.paths.data_dir, cfg.paths.mirror)
    assert data.num_nodes == 183 and data.x.shape[1] == 1703 and data.num_classes == 5
    src, dst = data.edge_index
    assert (src != dst).all()
    assert set((src * 183 + dst).tolist()) == set((dst * 183 + src).tolist())
    masks = torch.stack([data.train_mask, data.val_mask, data.test_mask])
    assert masks.dim() == 2 and (masks.sum(0) <= 1).all() and masks.sum() == 183
    with pytest.raises(UserError, match="geom_split"):
        load_dataset(composed("dataset=cornell", "dataset.geom_split=10").dataset,
                     cfg.paths.data_dir, cfg.paths.mirror)  # fmt: skip


@pytest.mark.parametrize(
    "overrides",
    [
        ("method=coldbrew", "method.student.target=middle"),
        ("method=coldbrew_link", "method.teacher.residual=skip"),
        ("method=gcn_se", "method.norm=layer"),
        ("method=gcn_se", "method.se_layers=middle"),
        ("method=label_prop", "method.matrix=random_walk"),
        ("method=coldbrew_meta_tail2vec", "method.base.norm=layer"),
    ],
)
def test_bad_string_options_are_rejected_before_the_job(overrides):
    key, _, value = overrides[1].partition("=")
    with pytest.raises(UserError, match=f"{key}={value!r}: choose one of"):
        check(composed(*overrides))
