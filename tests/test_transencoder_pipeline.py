"""Trans-Encoder cycles: pseudo-labels always come from the other mode, mutual distillation
averages them, the cross-encoder is re-initialised each cycle, the best cycle is chosen per mode;
and one real smoke cycle on a tiny pool runs end to end."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

from helpers import composed, mirror_has
from iclr.cli.errors import UserError
from iclr.methods.transencoder import distill
from iclr.methods.transencoder.data import EvalSet, PairPool
from iclr.methods.transencoder.models import Start

N = 12
POOL = PairPool(tuple(f"a{i}" for i in range(N)), tuple(f"b{i}" for i in range(N)), ("sts12",) * N)
DEV = EvalSet("dev", ("x",), ("y",), (1.0,))
BASE = {"A": np.linspace(-0.3, 0.9, N), "B": np.linspace(0.1, 0.5, N)[::-1].copy()}
DEV_CROSS, DEV_BI = {1: 10.0, 2: 30.0, 3: 20.0}, {1: 50.0, 2: 40.0, 3: 60.0}


class Fake:
    """A stand-in model: a fresh one scores with its start's base cosines, a trained one
    reproduces the labels it was trained on (so the label flow can be traced exactly)."""

    def __init__(self, kind: str, start: Start) -> None:
        self.kind, self.start, self.trained_on = kind, start, None


@pytest.fixture
def fakes(monkeypatch):
    calls = {"make_bi": 0, "make_cross": 0, "cycle": 0}

    def make_bi(start, *_):
        calls["make_bi"] += 1
        return Fake("bi", start)

    def make_cross(start, *_):
        calls["make_cross"] += 1
        return Fake("cross", start)

    def bi_scores(model, s1, s2, batch):
        assert model.kind == "bi"
        return BASE[model.start.name] if model.trained_on is None else model.trained_on

    def cross_scores(model, s1, s2, batch):
        assert model.kind == "cross" and model.trained_on is not None
        return 0.5 * model.trained_on + 0.25  # a cross-encoder's own (distinct) scores

    def train_cross(model, s1, s2, labels, dev, cfg, history, tag, seed):
        assert len(s1) == N and model.kind == "cross"
        model.trained_on = labels.copy()
        return DEV_CROSS[tag["cycle"]], 1

    def train_bi(model, s1, s2, labels, dev, cfg, history, tag, seed):
        assert model.kind == "bi"
        model.trained_on = labels.copy()
        return DEV_BI[tag["cycle"]], 1

    for name, fn in [
        ("make_bi", make_bi),
        ("make_cross", make_cross),
        ("bi_scores", bi_scores),
        ("cross_scores", cross_scores),
        ("train_cross", train_cross),
        ("train_bi", train_bi),
        ("snapshot", lambda model: {"labels": model.trained_on}),
    ]:
        monkeypatch.setattr(distill, name, fn)
    return calls


def method_cfg(**over):
    cfg = composed("method=transencoder", "dataset=sts_sickr").method
    cfg.cycles = 3
    for k, v in over.items():
        OmegaConf.update(cfg, k, v)
    return cfg


@pytest.mark.parametrize("names", [["A"], ["A", "B"]])
def test_labels_flow_between_modes_and_best_cycle_is_per_mode(fakes, names):
    starts = [Start(n, n, n, "cls") for n in names]
    tracks, log = distill.run_cycles(starts, POOL, DEV, method_cfg(), "cpu", seed=0)
    mean_cos = np.mean([BASE[n] for n in names], axis=0)  # mutual: the average of the two
    np.testing.assert_allclose(log.cross_targets[0], np.clip(mean_cos, 0, 1))
    assert log.negative_fraction[0] == pytest.approx((mean_cos < 0).mean())
    for c in range(3):  # bi labels = cross scores; next cross labels = the new bi's cosines
        np.testing.assert_allclose(log.bi_targets[c], 0.5 * log.cross_targets[c] + 0.25)
        if c:
            np.testing.assert_allclose(log.cross_targets[c], np.clip(log.bi_targets[c - 1], 0, 1))
    # a fresh cross-encoder per track per cycle; bi-encoders: the start + one per cycle
    assert fakes["make_cross"] == 3 * len(names)
    assert fakes["make_bi"] == 4 * len(names)
    for t in tracks:
        assert t.best["cross"][:2] == (30.0, 2) and t.best["bi"][:2] == (60.0, 3)
        np.testing.assert_allclose(t.best["cross"][2]["labels"], log.cross_targets[1])
    assert set(log.dev[0]) == {f"{n}/{m}" for n in names for m in ("cross", "bi")}


def test_raw_labels_and_bad_settings(fakes):
    start = Start("A", "A", "A", "cls")
    _, log = distill.run_cycles([start], POOL, DEV, method_cfg(label_transform="raw"), "cpu", 0)
    np.testing.assert_allclose(log.cross_targets[0], BASE["A"])  # upstream: unclipped
    with pytest.raises(UserError, match="reinit"):
        distill.run_cycles([start], POOL, DEV, method_cfg(reinit=False), "cpu", 0)
    from iclr.methods.transencoder.models import starts_from_cfg

    with pytest.raises(UserError, match="unknown start model"):
        starts_from_cfg(method_cfg(models=["gpt"]))
    with pytest.raises(UserError, match="one model"):
        starts_from_cfg(method_cfg(models=["minilm"] * 3))
    from iclr.methods.transencoder.models import check_available

    # the SimCSE starts are configs for users with the weights: offline, one clear error
    with pytest.raises(UserError, match="simcse-bert-base.bi to a local folder"):
        cfg = method_cfg(models=["simcse-bert-base"])
        cfg.starts["simcse-bert-base"].bi = "/nonexistent/unsup-simcse-bert-base-uncased"
        check_available(starts_from_cfg(cfg))


def test_eval_refuses_a_cross_checkpoint_in_bi_mode(tmp_path):
    from iclr.methods.transencoder.pipeline import run_eval

    config = {"model_type": "bert", "architectures": ["BertForSequenceClassification"]}
    (tmp_path / "config.json").write_text(json.dumps(config))
    cfg = composed("method=transencoder_eval", "dataset=sts_sickr", "method.mode=bi")
    cfg.method.checkpoint = str(tmp_path)
    with pytest.raises(UserError, match="cross-encoder checkpoint: evaluate it with method.mode"):
        run_eval(cfg, tmp_path / "out", None)
    cfg.method.mode = None  # the mode is never guessed
    with pytest.raises(UserError, match="method.mode=bi .* or method.mode=cross"):
        run_eval(cfg, tmp_path / "out", None)


SMOKE = (
    "method.cycles=1",
    "method.pool.size=16",
    "method.dev.size=24",
    "method.bi.epochs=1",
    "method.eval.test_size=24",
)


@pytest.mark.skipif(not (mirror_has("sts-senteval") and mirror_has("sick")), reason="no STS")
def test_one_real_smoke_cycle_runs_end_to_end(tmp_path: Path):
    from iclr.methods.transencoder.pipeline import run

    cfg = composed("method=transencoder", "dataset=sts_sickr", *SMOKE)
    metrics = run(cfg, tmp_path, None)
    sets = ["sts12", "sts13", "sts14", "sts15", "sts16", "stsb", "sickr", "avg"]
    for prefix in ("start", "bi", "cross"):
        assert all(np.isfinite(metrics[f"{prefix}/{s}"]) for s in sets)
    assert metrics["start/avg"] > 60  # MiniLM is a strong start even on 24 pairs per set
    assert metrics["pool_pairs"] == 16 and metrics["best_cycle_bi"] == 1
    assert metrics["bi/avg"] == pytest.approx(np.mean([metrics[f"bi/{s}"] for s in sets[:-1]]))
    with (tmp_path / "history.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [r["mode"] for r in rows] == ["cross", "bi"]
    assert (tmp_path / "learning_curve.png").stat().st_size > 0
