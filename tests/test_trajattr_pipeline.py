"""trajattr end to end on ETH/UCY: a short run, attribution on a real model (null players,
efficiency, shapiq on a model game) and, marked slow, learning beats constant velocity."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from helpers import MIRROR, composed, mirror_has
from iclr.cli import schema
from iclr.cli.errors import UserError
from iclr.methods.trajattr import shapley
from iclr.methods.trajattr.attribution import GameBatch, attribute, make_value_fn
from iclr.methods.trajattr.data import load
from iclr.methods.trajattr.models import TrajectronLite
from iclr.methods.trajattr.pipeline import run_on, split_windows

pytestmark = pytest.mark.skipif(not mirror_has("eth_ucy"), reason="no eth_ucy in the mirror")

SMOKE = (
    "method.decoder=mlp",
    "method.epochs=1",
    "method.steps_per_epoch=3",
    "method.batch_size=64",
    "method.val_windows=50",
    "method.eval_windows=100",
    "method.attribution.windows=8",
)


@pytest.fixture(scope="module")
def eth():
    """The eth fold's data and windows, built once for the module."""
    cfg = composed("method=trajattr", "dataset=eth_ucy_eth", *SMOKE)
    data = load(cfg.dataset, MIRROR / "eth_ucy")
    return data, split_windows(cfg, data)


def test_short_run_writes_history_metrics_and_efficient_attribution(eth, tmp_path):
    cfg = composed("method=trajattr", "dataset=eth_ucy_eth", *SMOKE)
    m = run_on(cfg, *eth[:1], tmp_path, eth[1])
    for key in ("min_ade", "min_fde", "nll", "min_ade_wo", "nll_wo", "shap_nll_past"):
        assert np.isfinite(m[key]), key
    assert m["test_windows"] == 364 and m["shap_windows"] == 8
    assert m["shap_exact_fraction"] > 0  # eth windows have few players: exact SV
    assert m["shap_nll_max_efficiency_gap"] < 1e-4  # Σφ = v(N) − v(∅) on the real model
    for name in ("history.csv", "learning_curve.png", "attribution.csv", "attribution_nll.png"):
        assert (tmp_path / name).stat().st_size > 0, name


def test_neighbours_are_null_players_of_a_model_without_interaction(eth):
    cfg = composed("method=trajattr_lstm", "dataset=eth_ucy_eth", *SMOKE)
    w = eth[1]
    torch.manual_seed(0)
    model = TrajectronLite(cfg.method, 0.4, 1.0, 12)
    test = w["test"].index(torch.nonzero(w["test"].n_neighbors >= 2).squeeze(1)[:6])
    att = attribute(model, test, w["train"], cfg.method.attribution, seed=0)
    real = ~torch.isnan(att.neighbours)
    assert real.any()
    assert att.neighbours[real].abs().max() < 1e-6  # edges the model never reads
    assert att.random.abs().max() < 1e-6  # so is the random agent
    assert att.interaction.abs().max() < 1e-6
    assert att.past.abs().max() > 1e-3  # while the past matters even untrained


def test_model_game_matches_shapiq_and_permutations_converge(eth):
    shapiq = pytest.importorskip("shapiq")
    cfg = composed("method=trajattr", "dataset=eth_ucy_eth", *SMOKE)
    w = eth[1]
    torch.manual_seed(0)
    model = TrajectronLite(cfg.method, 0.4, 1.0, 12).eval()
    one = w["test"].index(torch.nonzero(w["test"].n_neighbors == 3).squeeze(1)[:1])
    gen = torch.Generator().manual_seed(0)
    g = GameBatch(
        one,
        3,
        w["train"].nb_hist[:1, 0],
        w["train"].hist[:1],
        w["train"].nb_hist[:1, :4],
        torch.rand(1, 20, generator=gen),
        torch.randn(1, 20, 12, 2, generator=gen),
    )
    value = make_value_fn(model, g, "mask", 4096)
    n = g.n_players  # past + 3 neighbours + random agent
    ours = shapley.exact(value, 1, n)[0, :, 0].numpy()

    def game(coalitions: np.ndarray) -> np.ndarray:
        return value(torch.as_tensor(coalitions, dtype=torch.bool)[None])[0, :, 0].numpy()

    theirs = shapiq.ExactComputer(game, n_players=n)("SV", order=1)
    assert np.allclose(ours, [theirs[(i,)] for i in range(n)], atol=1e-5)
    sampled = shapley.permutation_shapley(value, 1, n, 256, gen)[0, :, 0].numpy()
    assert np.abs(sampled - ours).max() < 0.1 * np.abs(ours).max() + 1e-3


def test_random_removal_and_released_banzhaf_run(eth):
    cfg = composed(
        "method=trajattr",
        "dataset=eth_ucy_eth",
        *SMOKE,
        "method.attribution.removal=random",
        "method.attribution.estimator=banzhaf",
    )
    w = eth[1]
    torch.manual_seed(0)
    model = TrajectronLite(cfg.method, 0.4, 1.0, 12)
    att = attribute(model, w["test"].index(torch.arange(6)), w["train"], cfg.method.attribution, 0)
    assert torch.isfinite(att.past).all() and not att.exact.any()
    assert torch.isfinite(att.random).all()


def test_bad_settings_are_rejected_by_the_schema():
    for override, match in (
        ("method.model=transformer", "method.model"),
        ("method.attribution.removal=zeroes", "removal"),
        ("method.attribution.estimator=owen", "estimator"),
        ("method.interaction=graph", "interaction"),
        ("method.decoder=lstm", "decoder"),
    ):
        with pytest.raises(UserError, match=match):
            schema.check(composed("method=trajattr", "dataset=eth_ucy_eth", *SMOKE, override))


def test_constant_velocity_run(eth, tmp_path):
    cfg = composed("method=trajattr_cv", "dataset=eth_ucy_eth")
    m = run_on(cfg, *eth[:1], tmp_path, eth[1])
    assert m["min_ade"] == m["min_ade_wo"] and 0.3 < m["min_ade"] < 2.0


@pytest.mark.slow
def test_trained_model_beats_constant_velocity(eth, tmp_path):
    cfg = composed(
        "method=trajattr_lstm",
        "dataset=eth_ucy_eth",
        "method.decoder=mlp",
        "method.epochs=3",
        "method.steps_per_epoch=100",
        "method.attribution.enabled=false",
    )
    learnt = run_on(cfg, eth[0], tmp_path / "lstm", eth[1])
    cv_cfg = composed("method=trajattr_cv", "dataset=eth_ucy_eth")
    cv = run_on(cv_cfg, eth[0], tmp_path / "cv", eth[1])
    assert learnt["min_ade"] < 0.8 * cv["min_ade"]
    assert learnt["min_fde"] < 0.8 * cv["min_fde"]
