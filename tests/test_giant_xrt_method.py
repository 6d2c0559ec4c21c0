"""GIANT-XRT's stages: label-tree targets match brute force, the shortlist keeps every positive,
the loss is PECOS's squared hinge, features are cached, and the pipeline learns on real text."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from helpers import GIANT_TREE, MIRROR, composed, needs_citeseer_tag
from helpers import random_graph as shared_random_graph
from iclr.methods.giant_xrt.label_tree import LabelTree, build_label_tree
from iclr.methods.giant_xrt.xr_training import active_clusters, squared_hinge

TREE = OmegaConf.create(GIANT_TREE)


def random_graph(n: int = 64, seed: int = 0):
    return shared_random_graph(n, 200, seed)


def test_label_tree_targets_match_brute_force():
    edges, tfidf = random_graph()
    tree = build_label_tree(edges, 64, tfidf, TREE)
    assert tree.level_sizes[-1] == 64 and tree.level_sizes[0] < tree.level_sizes[1] < 64
    # cluster of every label at every level, walking the parent pointers up from the labels
    cluster = [np.arange(64)]
    for level in range(len(tree.targets) - 1, 0, -1):
        cluster.insert(0, tree.parents[level][cluster[0]])
    for level, targets in enumerate(tree.targets):
        expected = np.zeros(targets.shape, dtype=np.float32)
        for i, j in edges.T:  # node i is relevant to the cluster of each neighbour j
            expected[np.flatnonzero(tree.train_nodes == i), cluster[level][j]] = 1.0
        np.testing.assert_array_equal(targets.toarray(), expected)


def test_label_tree_drops_nodes_of_too_high_degree():
    edges, tfidf = random_graph()
    degree = np.bincount(edges[0], minlength=64)
    cfg = OmegaConf.merge(TREE, {"max_degree": int(np.median(degree))})
    tree = build_label_tree(edges, 64, tfidf, cfg)
    np.testing.assert_array_equal(tree.train_nodes, np.flatnonzero(degree < np.median(degree)))


def test_teacher_forcing_shortlist_holds_every_positive_and_only_children_of_positives():
    edges, tfidf = random_graph()
    tree: LabelTree = build_label_tree(edges, 64, tfidf, TREE)
    rows = np.arange(len(tree.train_nodes))
    emb = torch.zeros(rows.size, 8)
    for level in range(1, len(tree.targets)):
        active = active_clusters(level, tree, rows, emb, torch.nn.Linear(8, 1), "tfn", 2)
        positive = torch.from_numpy(tree.targets[level].toarray())
        assert torch.all(active >= positive)
        parent_positive = tree.targets[level - 1].toarray()
        expected = parent_positive[:, tree.parents[level]]
        np.testing.assert_array_equal(active.numpy(), expected)
        # matcher-aware negatives only add clusters
        man = active_clusters(
            level,
            tree,
            rows,
            torch.randn(rows.size, 8),
            torch.nn.Linear(8, tree.level_sizes[level - 1]),
            "tfn+man",
            2,
        )
        assert torch.all(man >= active) and man.sum() > active.sum()


def test_squared_hinge_is_pecos_loss_on_the_active_clusters():
    torch.manual_seed(0)
    logits, positive = torch.randn(5, 7), (torch.rand(5, 7) > 0.6).float()
    everything = torch.ones(5, 7)
    signs = 2 * positive - 1
    expected = torch.relu(1 - signs * logits).pow(2).mean(1).mean()  # pecos HingeLoss(power=2)
    assert torch.allclose(squared_hinge(logits, positive, everything), expected)
    active = torch.zeros(5, 7)
    active[:, :3] = 1
    part = torch.relu(1 - signs[:, :3] * logits[:, :3]).pow(2).mean(1).mean()
    assert torch.allclose(squared_hinge(logits, positive, active), part)


@pytest.mark.slow
@needs_citeseer_tag
def test_giant_tfidf_mlp_features_learn_and_are_cached(tmp_path, iclr_env):
    """Small but real: GIANT (TF-IDF-MLP encoder) on CiteSeer-TAG lowers its neighbour-prediction
    loss, its features train an MLP far above the majority class, its record carries the fit
    diagnostics, and a second load is cached."""
    from iclr.cli.job import execute_job
    from iclr.data import load_dataset

    cfg = composed(
        "method=giant_xrt",
        "dataset=citeseer_tag",
        "profile=smoke",
        "method.downstream.epochs=60",
    )
    outcome = execute_job(cfg, tmp_path, overrides=[])
    assert outcome.state == "done", outcome
    metrics = outcome.record.metrics
    assert metrics["giant_from_cache"] == 0.0
    assert outcome.record.value > 0.5  # majority class (DB) is 21.5% of the papers
    for level in range(3):  # issue #18: every level's loss beside its input-free baseline
        assert 0.2 < metrics[f"giant_level{level}_bias_only_loss"] < 0.5
        assert metrics[f"giant_level{level}_loss"] > 0
    # the last level (3,186 labels) beats the bias-only model even at smoke size
    assert metrics["giant_level2_loss_ratio"] < 1.0
    for scorer in ("train_xr", "heldout_xr", "heldout_giant", "heldout_tfidf"):
        assert 0.0 <= metrics[f"giant_recall10_{scorer}"] <= 1.0
    assert metrics["giant_recall10_heldout_tfidf"] > 0.2  # text similarity finds neighbours
    data = load_dataset(
        OmegaConf.merge(cfg.dataset, {"features": "giant_tfidf_mlp"}),
        cfg.paths.data_dir,
        MIRROR if cfg.paths.mirror is None else cfg.paths.mirror,
    )
    assert data.feature_report["from_cache"] and data.x.shape == (3186, 32)
    losses = data.feature_report["levels"][-1]["losses"]
    assert losses[-1] < losses[0]


def test_giant_xrt_needs_a_text_attributed_dataset(tmp_path, iclr_env):
    from iclr.cli.job import execute_job

    outcome = execute_job(composed("method=giant_xrt"), tmp_path, overrides=[])
    assert outcome.state == "failed" and "raw node text" in outcome.record.error


def test_missing_paper_encoder_weights_name_the_offline_fix(monkeypatch):
    """Offline without the default (paper) profile's BERT weights, the error is one line that
    names the fix that works: profile=cpu, whose MiniLM is bundled."""
    import transformers

    from iclr.cli.errors import UserError
    from iclr.methods.giant_xrt.encoders import load_transformer

    def offline(*args, **kwargs):  # what Hugging Face raises offline with an empty cache
        raise OSError(
            "We couldn't connect to 'https://huggingface.co' to load the files, and couldn't "
            "find them in the cached files.\nCheck your internet connection or see how to run "
            "the library in offline mode at 'https://huggingface.co/docs/transformers/installation"
            "#offline-mode'."
        )

    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", offline)
    name = str(composed("method=giant_xrt", "dataset=citeseer_tag").dataset.giant.transformer.model)
    with pytest.raises(UserError) as error:
        load_transformer(name, torch.device("cpu"))
    message = str(error.value)
    assert "profile=cpu" in message and repr(name) in message
    assert "\n" not in message and "couldn't connect" in message


def test_xr_linear_scores_recover_the_training_neighbour_clusters():
    from iclr.methods.giant_xrt.xr_linear import xr_linear_cluster_scores

    edges, tfidf = random_graph()
    tree = build_label_tree(edges, 64, tfidf, TREE)
    cfg = OmegaConf.create({"only_topk": 10, "beam_size": 10, "threads": 1})
    scores = xr_linear_cluster_scores(tfidf, tree, cfg)
    assert scores.shape == (64, tree.level_sizes[-2])
    truth = tree.targets[-2].toarray() > 0  # finest clusters holding a neighbour
    hit = (scores[tree.train_nodes] > 0) & truth
    assert hit.sum() / truth.sum() > 0.8  # a linear model fits its own training neighbours


def test_tfidf_encoder_matches_the_dense_linear_layer_and_its_gradients():
    """The embedding-bag first layer is ``nn.Linear`` on the dense TF-IDF rows: same initial
    weights (same seed), same outputs, and the same weight gradient, in every batch."""
    from iclr.methods.giant_xrt.encoders import TfidfMLPEncoder

    _, tfidf = random_graph()
    torch.manual_seed(3)
    encoder = TfidfMLPEncoder(tfidf, hidden=32, dim=16, dropout=0.0)
    torch.manual_seed(3)
    dense_first = torch.nn.Linear(tfidf.shape[1], 32)
    torch.testing.assert_close(encoder.first_weight, dense_first.weight.T)
    for rows, inputs in encoder.batches(np.arange(64), 24, np.random.default_rng(0)):
        encoder.zero_grad()
        dense_first.zero_grad()
        ours = encoder(inputs)
        x = torch.from_numpy(tfidf[rows].toarray().astype(np.float32))
        expected = encoder.second(torch.relu(dense_first(x)))
        torch.testing.assert_close(ours, expected)
        (ours.square().sum() + expected.square().sum()).backward()
        torch.testing.assert_close(encoder.first_weight.grad, dense_first.weight.grad.T)
        torch.testing.assert_close(encoder.first_bias.grad, dense_first.bias.grad)


def test_linear_bootstrap_starts_a_level_below_the_all_negative_loss():
    """PECOS's linear bootstrap fits the new heads to the current embeddings: before any
    fine-tuning their loss is below that of predicting "no neighbour here" everywhere."""
    from iclr.methods.giant_xrt.encoders import TfidfMLPEncoder
    from iclr.methods.giant_xrt.xr_training import dense_rows, linear_bootstrap

    torch.manual_seed(0)
    edges, tfidf = random_graph()
    tree = build_label_tree(edges, 64, tfidf, TREE)
    encoder = TfidfMLPEncoder(tfidf, hidden=32, dim=16, dropout=0.0)
    level = len(tree.targets) - 1
    head = torch.nn.Linear(16, tree.level_sizes[level])
    nodes = tree.train_nodes[np.diff(tree.targets[-1].indptr) > 0]
    row_of_node = np.full(64, -1)
    row_of_node[tree.train_nodes] = np.arange(tree.train_nodes.size)
    linear_bootstrap(
        encoder, head, tree, level, nodes, row_of_node, OmegaConf.create({"embed_batch_size": 16})
    )
    rows = row_of_node[nodes]
    with torch.no_grad():
        embedding = encoder(next(encoder.batches(nodes, nodes.size, None))[1])
        positive = dense_rows(tree, level, rows, torch.device("cpu"))
        active = active_clusters(level, tree, rows, embedding, head, "tfn", 1)
        fitted = squared_hinge(head(embedding), positive, active)
        all_negative = squared_hinge(torch.full_like(positive, -1.0), positive, active)
    assert fitted < all_negative
