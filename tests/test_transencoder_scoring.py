"""Trans-Encoder scoring: Spearman x100 matches scipy and sentence-transformers' evaluators;
bi and cross modes are never mixed; pseudo-label mapping for BCE."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

from helpers import composed
from iclr.cli import schema
from iclr.cli.errors import UserError
from iclr.methods.transencoder.data import EvalSet
from iclr.methods.transencoder.distill import to_bce_targets
from iclr.methods.transencoder.models import (
    Start,
    checkpoint_kind,
    ensure_offline,
    make_bi,
    make_cross,
)
from iclr.methods.transencoder.scoring import (
    cross_scores,
    evaluate,
    score_pairs,
    spearman100,
)

MINI = Start("minilm", "minilm", "minilm", "mean")
TINY = EvalSet(
    "tiny",
    (
        "a man is playing a guitar .",
        "a woman is slicing an onion .",
        "two dogs run in the grass .",
        "the cat sleeps on the sofa .",
        "a child rides a horse on the beach in the summer sun .",
        "stocks fell sharply on monday .",
    ),
    (
        "a man plays the guitar .",
        "a man is cutting a tomato .",
        "dogs are running on grass .",
        "a plane takes off .",
        "a kid is riding a horse .",
        "markets dropped on monday .",
    ),
    (4.8, 1.0, 4.2, 0.0, 3.5, 3.9),
)


@pytest.fixture(scope="module")
def bi():
    ensure_offline()
    return make_bi(MINI, 32, "cpu")


@pytest.fixture(scope="module")
def cross():
    ensure_offline()
    torch.manual_seed(0)
    return make_cross(MINI, 64, "cpu")


def test_spearman_is_scipy_times_100():
    gold, pred = [1.0, 2.0, 3.0, 4.0, 5.0], [0.1, 0.4, 0.3, 0.9, 0.8]
    assert spearman100(gold, pred) == pytest.approx(100 * spearmanr(gold, pred).statistic)
    assert spearman100(gold, pred) == pytest.approx(80.0)


def test_bi_evaluation_matches_brute_force_and_the_st_evaluator(bi):
    from sentence_transformers.sentence_transformer.evaluation import (
        EmbeddingSimilarityEvaluator,
    )

    ours = evaluate([bi], "bi", {"tiny": TINY})
    u = bi.encode(list(TINY.s1), convert_to_numpy=True)
    v = bi.encode(list(TINY.s2), convert_to_numpy=True)
    cos = (u * v).sum(1) / np.linalg.norm(u, axis=1) / np.linalg.norm(v, axis=1)
    assert ours["tiny"] == pytest.approx(100 * spearmanr(TINY.gold, cos).statistic, abs=1e-6)
    ev = EmbeddingSimilarityEvaluator(
        list(TINY.s1), list(TINY.s2), list(TINY.gold), main_similarity="cosine", write_csv=False
    )
    assert ours["tiny"] == pytest.approx(100 * ev(bi)[ev.primary_metric], abs=1e-6)
    assert ours["avg"] == ours["tiny"] > 50  # MiniLM ranks these pairs well


def test_cross_scores_are_unsorted_back_to_pair_order(cross):
    sorted_by_us = cross_scores(cross, TINY.s1, TINY.s2)
    direct = cross.predict(list(zip(TINY.s1, TINY.s2, strict=True)), show_progress_bar=False)
    np.testing.assert_allclose(sorted_by_us, direct, rtol=1e-5, atol=1e-6)
    assert ((sorted_by_us > 0) & (sorted_by_us < 1)).all()  # sigmoid scores


def test_modes_are_never_mixed(bi, cross):
    with pytest.raises(UserError, match="cross-encoder: evaluate it with mode=cross"):
        score_pairs(cross, "bi", TINY.s1, TINY.s2, 8)
    with pytest.raises(UserError, match="bi-encoder: evaluate it with mode=bi"):
        evaluate([bi], "cross", {"tiny": TINY})
    with pytest.raises(UserError, match="mode="):
        evaluate([bi], "both", {"tiny": TINY})


def test_checkpoint_kind_tells_cross_from_bi(tmp_path):
    assert checkpoint_kind("minilm") == "bi"
    config = {"model_type": "bert", "architectures": ["BertForSequenceClassification"]}
    (tmp_path / "config.json").write_text(json.dumps(config))
    assert checkpoint_kind(str(tmp_path)) == "cross"
    with pytest.raises(UserError, match="not available offline"):
        checkpoint_kind(str(tmp_path / "absent"))


def test_bce_targets_clip_raw_affine():
    cos = np.array([-0.2, 0.0, 0.5, 1.0])
    np.testing.assert_allclose(to_bce_targets(cos, "clip"), [0.0, 0.0, 0.5, 1.0])
    np.testing.assert_allclose(to_bce_targets(cos, "raw"), cos)
    np.testing.assert_allclose(to_bce_targets(cos, "affine"), [0.4, 0.5, 0.75, 1.0])
    with pytest.raises(UserError, match="method.label_transform='sigmoid'"):
        schema.check(
            composed("method=transencoder", "dataset=sts_sickr", "method.label_transform=sigmoid")
        )
