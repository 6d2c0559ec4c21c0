"""GRDA and its baselines end to end: every method runs through the CLI, and GRDA learns."""

from __future__ import annotations

import json

import numpy as np
import pytest

from helpers import needs_grda_data

METHODS = ["source_only", "dann", "cdann", "adda", "mdd", "grda"]
TINY = ["method.hidden=16", "method.epochs=2", "method.eval_every=1", "method.probe_steps=20"]


def record(outputs, method: str, dataset: str) -> dict:
    (path,) = (outputs / "results" / method / dataset).glob("*/seed=0.json")
    return json.loads(path.read_text())


@pytest.mark.parametrize("method", METHODS)
def test_every_method_runs_on_a_generated_graph(cli, iclr_env, method):
    code, _, err = cli("run", f"method={method}", "dataset=dg_synthetic", *TINY)
    assert code == 0, err
    metrics = record(iclr_env, method, "dg_synthetic")["metrics"]
    assert 0.0 <= metrics["target_acc"] <= 1.0 and "target_acc_level1" in metrics


@needs_grda_data
@pytest.mark.parametrize("method", ["mdd", "grda"])
def test_regression_reports_every_level(cli, iclr_env, method):
    code, _, err = cli("run", f"method={method}", "dataset=tpt48_n2s", *TINY)
    assert code == 0, err
    metrics = record(iclr_env, method, "tpt48_n2s")["metrics"]
    levels = [metrics[f"target_mse_level{k}"] for k in (1, 2, 3)]
    # the all-24 mean is the domain-count-weighted mean of the level means (10/6/8 states)
    assert metrics["target_mse"] == pytest.approx(
        (10 * levels[0] + 6 * levels[1] + 8 * levels[2]) / 24
    )


def test_baselines_never_get_grdas_pretrained_embeddings():
    from helpers import composed

    for method in METHODS[:-1]:
        cfg = composed(f"method={method}", "dataset=dg15")
        assert cfg.method.domain_input == "onehot"
    assert composed("method=grda", "dataset=dg15").method.domain_input == "g_encode"


@needs_grda_data
def test_grda_beats_source_only_on_dg15_targets(cli, iclr_env):
    """A short GRDA run (small width, init std scaled to keep the paper's per-layer gain) is
    clearly above Source-Only and chance on DG-15's nine rotated target domains."""
    short = [
        "method.hidden=64",
        "method.init_std=0.028",
        "method.lr_scale=8",
        "method.epochs=40",
        "method.probe_steps=0",
    ]
    accuracy = {}
    for method in ("source_only", "grda"):
        code, _, err = cli("run", f"method={method}", "dataset=dg15", *short)
        assert code == 0, err
        accuracy[method] = record(iclr_env, method, "dg15")["metrics"]
    assert accuracy["source_only"]["source_acc"] > 0.9  # both fit the labelled sources
    assert accuracy["grda"]["target_acc"] > 0.6
    assert accuracy["grda"]["target_acc"] > accuracy["source_only"]["target_acc"] + 0.15


@pytest.mark.parametrize(("update", "frozen"), [("official", True), ("detached", False)])
def test_official_update_freezes_the_discriminator_at_lambda_one(update, frozen):
    """The official single-backward step gives D (1 − λ)·∇L_D: nothing at λ = 1 (DG-15's
    setting); our default detached step trains D."""
    import torch
    from omegaconf import OmegaConf

    from helpers import composed
    from iclr.data import load_dataset
    from iclr.methods.grda import dann
    from iclr.methods.grda.training import Trainer

    cfg = composed(
        "method=dann",
        "dataset=dg_synthetic",
        "method.hidden=8",
        "method.init_std=0.3",
        "method.lambda_gan=1",
        f"method.update={update}",
    )
    cfg = OmegaConf.create(OmegaConf.to_container(cfg, resolve=True))
    data = load_dataset(cfg.dataset, cfg.paths.data_dir, cfg.paths.mirror)
    trainer = Trainer(cfg, data, torch.device("cpu"), dann.make)
    before = [p.detach().clone() for p in trainer.adversary.parameters()]
    trainer.epoch(int(cfg.method.batch_size))
    unchanged = all(
        torch.equal(a, b) for a, b in zip(before, trainer.adversary.parameters(), strict=True)
    )
    assert unchanged == frozen


@pytest.mark.parametrize(
    ("method", "override"),
    [
        ("grda", "method.update=nosuch"),
        ("adda", "method.update=simultaneous"),
        ("grda", "method.domain_input=angle"),
        ("dann", "method.domain_input=learned"),
    ],
)
def test_a_bad_option_is_refused_before_anything_runs(cli, iclr_env, method, override):
    code, _, err = cli("run", f"method={method}", "dataset=dg15", override)
    assert code == 2 and override.split("=")[0] in err and len(err.strip().splitlines()) == 1
    assert not (iclr_env / "results").exists()


def test_every_adversarial_run_reports_the_fresh_discriminator_diagnostics(cli, iclr_env):
    code, _, err = cli("run", "method=dann", "dataset=dg_synthetic", *TINY)
    assert code == 0, err
    metrics = record(iclr_env, "dann", "dg_synthetic")["metrics"]
    assert metrics["probe_domain_ce_chance"] == pytest.approx(np.log(15))
    for key in ("probe_domain_ce", "adv_loss_trained", "adv_loss_fresh"):
        assert np.isfinite(metrics[key])
