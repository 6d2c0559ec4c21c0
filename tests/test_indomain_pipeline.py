"""indomain_* runs end to end on the procedural grids; the analyses and the official loader."""

from __future__ import annotations

import json

import numpy as np
import pytest
from omegaconf import OmegaConf

from helpers import composed
from iclr.cli.errors import UserError
from iclr.methods.indomain import analysis
from iclr.methods.indomain.data import load
from iclr.methods.indomain.factors import DSPRITES
from iclr.methods.indomain.pipeline import run
from iclr.methods.indomain.splits import make_split

SMOKE = ("method.n_train=128", "method.n_val=32", "method.n_test=256", "method.epochs=1")


def job(method: str, dataset: str = "dsprites_like", *overrides: str):
    return composed(f"method={method}", f"dataset={dataset}", *overrides)


@pytest.mark.parametrize(
    ("method", "dataset"),
    [
        ("indomain_mlp", "dsprites_like"),
        ("indomain_cnn", "shapes3d_like"),
        ("indomain_betavae", "dsprites_like"),
        ("indomain_pcl", "dsprites_like"),
        ("indomain_resnet18", "dsprites_like"),
    ],
)
def test_smoke_run_writes_scores_and_run_folder_files(method, dataset, tmp_path):
    extra = {"indomain_betavae": ["method.vae_epochs=1"], "indomain_pcl": ["method.pcl_epochs=1"]}
    extra = extra.get(method, [])
    if method == "indomain_resnet18":
        extra = ["method.resolution=32", "method.n_train=32", "method.n_test=64"]
    if dataset == "shapes3d_like":  # each new scene is ray-cast once: keep the sample small
        extra = ["method.n_train=32", "method.n_val=8", "method.n_test=64"]
    cfg = job(method, dataset, "dataset.split=extrapolation", *SMOKE, *extra)
    m = run(cfg, tmp_path, None)
    names = [n.replace(" ", "_") for n in (DSPRITES.names if "dsprites" in dataset else [])]
    for name in names:
        assert np.isfinite(m[f"r2_{name}"])
    assert {"r2", "r2_noncat", "modularity/r2_others", "collapse/gap_closed"} <= set(m)
    for file in ("history.csv", "learning_curves.png", "per_factor.csv", "per_factor.png"):
        assert (tmp_path / file).stat().st_size > 0
    assert (tmp_path / "collapse.png").is_file()
    assert json.loads((tmp_path / "indomain_metrics.json").read_text())["r2"] == m["r2"]


def test_cnn_beats_predicting_the_mean_on_the_random_split(tmp_path):
    cfg = job(
        "indomain_cnn",
        "dsprites_like",
        "dataset.split=random",
        "method.n_train=1000",
        "method.n_val=0",
        "method.n_test=400",
        "method.epochs=4",
    )
    m = run(cfg, tmp_path, None)
    # predicting the mean of every factor scores R² ≈ 0; position is learnt first
    assert m["r2"] > 0.25
    assert m["r2_x-position"] > 0.6 and m["r2_y-position"] > 0.6


@pytest.mark.slow
def test_cnn_degrades_from_random_to_extrapolation(tmp_path):
    r2 = {}
    for split in ("random", "extrapolation"):
        cfg = job(
            "indomain_cnn",
            "dsprites_like",
            f"dataset.split={split}",
            "method.n_train=5000",
            "method.n_val=0",
            "method.n_test=2000",
            "method.epochs=4",
        )
        r2[split] = run(cfg, tmp_path / split, None)["r2"]
    assert r2["extrapolation"] < r2["random"] - 0.1


def test_bad_settings_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="resolution"):
        run(job("indomain_cnn", "dsprites_like", "method.resolution=48", *SMOKE), tmp_path, None)


def test_collapse_and_modularity_on_planted_predictions():
    split = make_split(DSPRITES, "extrapolation")
    rows = np.random.default_rng(0).choice(split.test_indices, 4000, replace=False)
    labels = DSPRITES.unravel(rows)
    targets = DSPRITES.normalise(labels)
    perfect, _ = analysis.collapse(targets, targets, labels, DSPRITES, split.ood_values)
    assert perfect["collapse/gap_closed"] == pytest.approx(1.0)
    assert perfect["collapse/closer_to_train"] == 0.0
    # predictions clipped to the largest training value: full collapse
    top = np.array(
        [(n - 1 - len(v)) / (n - 1) for n, v in zip(DSPRITES.sizes, split.ood_values, strict=True)]
    )
    clipped = np.minimum(targets, top)
    stuck, pairs = analysis.collapse(clipped, targets, labels, DSPRITES, split.ood_values)
    assert stuck["collapse/gap_closed"] == pytest.approx(0.0, abs=1e-6)
    assert stuck["collapse/closer_to_train"] == 1.0 and sorted(pairs) == [1, 2, 3, 4]
    # modularity: only the OOD factor is wrong, so the others stay at R² = 1
    mod, _ = analysis.modularity(clipped, targets, labels, DSPRITES, split.ood_values)
    assert mod["modularity/r2_others"] == pytest.approx(1.0)
    assert mod["ood_scale/r2_ood"] < 1.0


def test_official_split_files_load_and_give_ood_values(tmp_path):
    rng = np.random.default_rng(0)
    for mode, scales in (("train", [0, 1, 2, 3]), ("test", [4, 5])):
        labels = np.stack([rng.integers(0, n, 50) for n in DSPRITES.sizes], axis=1)
        labels[:, 1] = rng.choice(scales, 50)
        labels[:, 1][: len(scales)] = scales
        images = rng.integers(0, 2, (50, 1, 64, 64)).astype(np.uint8)
        np.savez(tmp_path / f"dsprites_extrapolation_{mode}_images.npz", images)
        np.savez(tmp_path / f"dsprites_extrapolation_{mode}_labels.npz", labels)
    grid = load(OmegaConf.create({"kind": "official", "grid": "dsprites"}), tmp_path)
    split = grid.split("extrapolation")
    assert split.ood_values[1].tolist() == [4, 5]
    assert split.train.images(np.array([0, 3])).shape == (2, 1, 64, 64)
    with pytest.raises(UserError, match="Zenodo"):
        grid.split("random")


def test_pcl_partners_are_sparse_transitions_inside_the_train_region():
    from iclr.methods.indomain.pairs import transition_partners

    split = make_split(DSPRITES, "extrapolation")
    train = DSPRITES.unravel(split.train_indices)
    rng = np.random.default_rng(0)
    anchors = rng.choice(len(train), 2000, replace=False)
    kept, partners = transition_partners(train[anchors], train, DSPRITES, rng)
    assert len(kept) > 1900
    a, b = train[anchors[kept]], train[partners]
    assert (a[:, 0] == b[:, 0]).all()  # the categorical shape never changes
    assert not split.test_mask[DSPRITES.ravel(b)].any()  # partners stay in the train region
    step = np.abs(a - b)[:, 1:] / (np.array(DSPRITES.sizes[1:]) - 1)
    assert step.mean() < 0.1 and (step.sum(axis=1) > 0).mean() > 0.5
