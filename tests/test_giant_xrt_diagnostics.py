"""GIANT-XRT's fit diagnostics (issue #18): the bias-only loss is the best input-free constant,
held-out edges partition the graph, recall@k matches brute force, the CPU encoders fit the
objective below bias-only, the options are checked before anything runs, and the released
ogbn-arxiv embeddings load row-aligned with OGB's node ids."""

from __future__ import annotations

import gzip
import zipfile

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from omegaconf import OmegaConf

from helpers import GIANT_TREE
from helpers import random_graph as shared_random_graph
from iclr.cli.errors import UserError
from iclr.methods.giant_xrt.diagnostics import (
    adjacency,
    bias_only_loss,
    cosine_scorer,
    holdout_edges,
    recall_at_k,
)
from iclr.methods.giant_xrt.label_tree import build_label_tree
from iclr.methods.giant_xrt.xr_training import squared_hinge, train_level_by_level

TREE = OmegaConf.create(GIANT_TREE)


def random_graph(n: int = 80, seed: int = 0):
    return shared_random_graph(n, 300, seed)


@pytest.mark.parametrize("with_active", [False, True])
def test_bias_only_loss_is_the_best_constant_logit_per_cluster(with_active):
    rng = np.random.default_rng(1)
    positive = (rng.random((30, 6)) < 0.3).astype(np.float32)
    active = np.maximum(positive, rng.random((30, 6)) < 0.5) if with_active else np.ones((30, 6))
    # brute force: each cluster's constant on a fine grid (the loss is a sum over clusters)
    grid = torch.linspace(-2, 2, 4001)[:, None, None]
    p, a = torch.from_numpy(positive), torch.from_numpy(active.astype(np.float32))
    per_entry = torch.relu(1 - (2 * p - 1) * grid).pow(2) * a / a.sum(1, keepdim=True)
    best = grid.ravel()[per_entry.sum(1).argmin(0)]
    brute = float(squared_hinge(best.expand(30, 6), p, a))
    closed = bias_only_loss(sp.csr_matrix(positive), sp.csr_matrix(active) if with_active else None)
    assert closed == pytest.approx(brute, abs=1e-5)
    assert closed < float(squared_hinge(torch.full((30, 6), -1.0), p, a))  # beats all-negative


def test_holdout_edges_partition_the_undirected_edges():
    edges, _ = random_graph()
    train, held = holdout_edges(edges, 0.2, seed=3)
    pairs = lambda e: set(zip(e[0].tolist(), e[1].tolist(), strict=True))  # noqa: E731
    assert pairs(train) | pairs(held) == pairs(edges) and not pairs(train) & pairs(held)
    for e in (train, held):  # both directions of every edge
        assert pairs(e) == {(b, a) for a, b in pairs(e)}
    assert held.shape[1] == 2 * round(0.2 * edges.shape[1] / 2)
    assert not np.array_equal(held, holdout_edges(edges, 0.2, seed=4)[1])


def test_recall_at_k_matches_brute_force_and_masks_training_neighbours():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(25, 5)).astype(np.float32)
    edges, _ = random_graph(25, seed=2)
    train, held = holdout_edges(edges, 0.3, seed=0)
    train_adj, held_adj = adjacency(train, 25), adjacency(held, 25)
    got = recall_at_k(cosine_scorer(x), held_adj, train_adj, k=3, block=7)
    centred = x - x.mean(0)
    unit = centred / np.linalg.norm(centred, axis=1, keepdims=True)
    scores = unit @ unit.T
    expected = []
    for i in range(25):
        truth = set(held_adj[i].indices)
        if not truth:
            continue
        banned = {i, *train_adj[i].indices}
        order = [j for j in np.argsort(-scores[i], kind="stable") if j not in banned]
        expected.append(len(truth & set(order[:3])) / len(truth))
    assert got == pytest.approx(np.mean(expected))


@pytest.mark.parametrize("encoder", ["adapter", pytest.param("tfidf_mlp", marks=pytest.mark.slow)])
def test_cpu_encoders_fit_every_level_below_bias_only(encoder):
    """The fixed CPU settings (linear bootstrap, one lr with warm-up, hundreds of steps) bring
    every level clearly below the input-free baseline, and the adapter starts at the frozen
    features exactly."""
    from iclr.methods.giant_xrt.encoders import AdapterEncoder, TfidfMLPEncoder

    torch.manual_seed(0)
    edges, tfidf = random_graph()
    tree = build_label_tree(edges, 80, tfidf, TREE)
    frozen = torch.nn.functional.normalize(torch.from_numpy(tfidf.toarray()) @ torch.randn(40, 16))
    module = (
        AdapterEncoder(frozen, 32, 0.0)
        if encoder == "adapter"
        else TfidfMLPEncoder(tfidf, hidden=32, dim=16, dropout=0.0)
    )
    if encoder == "adapter":
        assert torch.equal(module.embed_all(64), frozen)
    cfg = OmegaConf.create(
        {
            "levels": "multiscale",
            "negatives": "tfn",
            "only_topk": 2,
            "bootstrap": "linear",
            "head_dropout": 0.0,
            "max_grad_norm": 1.0,
            "weight_decay": 0.0,
            "epochs_per_level": 25,
            "batch_size": 16,
            "lr": 1e-2,
            "warmup_steps": 10,
            "embed_batch_size": 64,
        }
    )
    logs, heads = train_level_by_level(module, tree, cfg, 0, torch.device("cpu"))
    assert len(heads) == len(tree.targets) == len(logs)
    for log in logs:
        assert log.final_loss < 0.7 * log.bias_only_loss, log


def test_bad_giant_options_are_rejected_before_anything_runs():
    from iclr.cli.compose import compose_config
    from iclr.cli.schema import check

    base = ["method=giant_xrt", "dataset=citeseer_tag", "profile=cpu"]
    check(compose_config(base))
    for bad in (
        "dataset.giant.train.bootstrap=nosuch",
        "dataset.giant.train.levels=nosuch",
        "dataset.giant.transformer.tune=nosuch",
        "dataset.features=bert",
        "method.encoder=nosuch",
    ):
        with pytest.raises(UserError, match=bad.rsplit(".", 1)[-1].split("=")[0]):
            check(compose_config([*base, bad]))


def write_arxiv_fixture(folder, embedding: np.ndarray) -> None:
    """A 4-node stand-in with OGB's arxiv.zip layout and a GIANT embedding file beside it."""
    files = {
        "arxiv/raw/edge.csv.gz": "0,1\n2,1\n",
        "arxiv/raw/node-label.csv.gz": "5\n0\n2\n5\n",
        "arxiv/mapping/nodeidx2paperid.csv.gz": "node idx,paper id\n0,30\n1,10\n2,20\n3,40\n",
        "arxiv/split/time/train.csv.gz": "0\n1\n",
        "arxiv/split/time/valid.csv.gz": "2\n",
        "arxiv/split/time/test.csv.gz": "3\n",
    }
    with zipfile.ZipFile(folder / "arxiv.zip", "w") as archive:
        for name, text in files.items():
            archive.writestr(name, gzip.compress(text.encode()))
    np.save(folder / "X.all.xrt-emb.npy", embedding)


def test_released_giant_embeddings_load_row_aligned_with_the_ogb_split(tmp_path):
    from iclr.methods.giant_xrt.ogb_released import load

    embedding = np.arange(4 * 6, dtype=np.float32).reshape(4, 6)
    write_arxiv_fixture(tmp_path, embedding)
    data = load(OmegaConf.create({"embedding": "X.all.xrt-emb.npy"}), tmp_path)
    assert torch.equal(data.x, torch.from_numpy(embedding))  # row i = node i, as released
    assert data.y.tolist() == [5, 0, 2, 5] and data.num_classes == 6
    assert sorted(zip(*data.edge_index.tolist(), strict=True)) == [(0, 1), (1, 0), (1, 2), (2, 1)]
    assert [data.train_mask.tolist(), data.val_mask.tolist(), data.test_mask.tolist()] == [
        [True, True, False, False],
        [False, False, True, False],
        [False, False, False, True],
    ]


def test_released_embeddings_of_the_wrong_shape_are_a_user_error(tmp_path):
    from iclr.methods.giant_xrt.ogb_released import load

    write_arxiv_fixture(tmp_path, np.zeros((3, 6), dtype=np.float32))
    with pytest.raises(UserError, match="one row per ogbn-arxiv node"):
        load(OmegaConf.create({}), tmp_path)


def test_official_downstream_mlp_has_batchnorm_and_learns():
    from iclr.methods.giant_xrt.ogb_downstream import BatchNormClassifier

    torch.manual_seed(0)
    x, y = torch.randn(200, 8), torch.randint(0, 3, (200,))
    x[torch.arange(200), y] += 3.0  # separable by the first three features
    model = BatchNormClassifier("mlp", 8, 32, 3, 3, 0.5)
    assert len(model.norms) == 2 and len(model.layers) == 3
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(100):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    model.eval()
    assert (model(x).argmax(1) == y).float().mean() > 0.9
