"""DIVA's Table 1 baselines: Active Bias (Chang et al. 2017) and L2RW (Ren et al. 2018).

Their weights against brute-force evaluations of the papers' formulas, L2RW dropping planted
flipped labels, both learning on real digits features, and their options checked up front."""

from __future__ import annotations

import math

import pytest
import torch

from helpers import composed
from iclr.cli.job import execute_job
from iclr.methods.diva import active_bias, l2rw
from iclr.methods.diva.active_bias import batch_weights, prediction_variance, threshold_closeness
from iclr.methods.diva.l2rw import meta_weights, split_validation
from iclr.methods.diva.linear_head import SGDSettings, per_sample_loss
from iclr.methods.diva.tasks import FeatureTask


def test_active_bias_weights_match_the_formulas_sample_by_sample():
    history = torch.rand(6, 9, dtype=torch.float64)  # p(y_i | x_i) at 6 earlier visits
    eps = 0.05
    tc, pv = threshold_closeness(history, eps), prediction_variance(history, eps)
    for i in range(9):
        visits = [float(p) for p in history[:, i]]
        mean = sum(visits) / len(visits)
        var = sum((p - mean) ** 2 for p in visits) / len(visits)
        assert tc[i].item() == pytest.approx(mean * (1 - mean) + eps, rel=1e-12)
        assert pv[i].item() == pytest.approx(
            math.sqrt(var + var**2 / (len(visits) - 1)) + eps, rel=1e-12
        )
    # the most uncertain sample (p̄ = ½) scores highest; a confident one lowest
    two = threshold_closeness(torch.tensor([[0.5, 0.99], [0.5, 0.97]]), 0.0)
    assert two[0] > two[1]
    weights = batch_weights(tc[:4])
    assert weights.mean().item() == pytest.approx(1.0)
    assert (weights.argsort() == tc[:4].argsort()).all()


def _blobs(n: int = 150, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """Three separated 2-D Gaussian classes (+ bias), 20% of the labels flipped."""
    generator = torch.Generator().manual_seed(seed)
    centres = torch.tensor([[4.0, 0.0], [0.0, 4.0], [-4.0, -4.0]], dtype=torch.float64)
    labels = torch.randint(3, (n,), generator=generator)
    z = centres[labels] + torch.randn(n, 2, generator=generator, dtype=torch.float64)
    z = torch.cat([z, torch.ones(n, 1, dtype=torch.float64)], 1)
    flipped = torch.rand(n, generator=generator) < 0.2
    noisy = torch.where(flipped, (labels + 1) % 3, labels)
    return z, labels, noisy, flipped


def test_l2rw_meta_gradient_matches_brute_force_and_drops_flipped_labels():
    z, labels, noisy, flipped = _blobs()
    w = torch.zeros(3, 3, dtype=torch.float64)
    for _ in range(30):  # a few clean steps so that the model means something
        w.requires_grad_(True)
        (g,) = torch.autograd.grad(per_sample_loss(w, z, labels).mean(), w)
        w = (w - 0.1 * g).detach()
    z_val, y_val = z[:60], labels[:60]  # clean validation set (L2RW's assumption)
    weights = meta_weights(w, z, noisy, z_val, y_val, inner_lr=0.1)
    # Ren et al.: w̃_i = max(−∂L_val(θ − η∇ℓ_i ε_i)/∂ε_i, 0) = max(η ∇ℓ_i · ∇L_val, 0)
    w_val = w.clone().requires_grad_(True)
    (g_val,) = torch.autograd.grad(per_sample_loss(w_val, z_val, y_val).mean(), w_val)
    brute = []
    for i in range(len(noisy)):
        w_i = w.clone().requires_grad_(True)
        loss_i = per_sample_loss(w_i, z[i : i + 1], noisy[i : i + 1]).sum()
        (g_i,) = torch.autograd.grad(loss_i, w_i)
        brute.append(max(0.1 * (g_i * g_val).sum().item(), 0.0))
    brute = torch.tensor(brute, dtype=torch.float64)
    assert torch.allclose(weights, brute / brute.sum(), atol=1e-12)
    assert weights.sum().item() == pytest.approx(1.0)
    assert (weights[flipped] == 0).double().mean() > 0.8  # flipped labels are dropped
    assert (weights[~flipped] == 0).double().mean() < 0.3
    assert weights[flipped].sum() < 0.1 * weights[~flipped].sum()


def test_l2rw_validation_rows_are_not_the_flipped_rows():
    from iclr.methods.diva.experiments import flip_labels

    _, flipped = flip_labels(torch.arange(1000) % 10, 10, 0.2, seed=0)
    rest, val = split_validation(1000, 0.2, seed=0)
    assert len(val) == 200 and torch.cat([rest, val]).unique().numel() == 1000
    # independent draws: about 20% of the held-out rows are flipped, not all or none of them
    assert 0.1 < flipped[val].double().mean() < 0.3


def test_an_e_epoch_run_is_the_first_e_epochs_of_a_longer_one():
    # benchmarks/diva_sgd_select.py reads several epoch budgets off one run per step size:
    # neither baseline has a schedule, and Active Bias's weights only read earlier epochs
    z, labels, noisy, _ = _blobs()
    task = FeatureTask(z, noisy, z, labels, 3)
    rest, val = split_validation(len(noisy), 0.2, seed=0)

    def logged(epochs: int, method: str) -> list[dict[str, float]]:
        rows: list[dict[str, float]] = []

        def log(**row: float) -> None:  # the runs' per-epoch log takes keywords
            rows.append(row)

        settings = SGDSettings(epochs, 25, 2.0, 0.9, 1e-5)
        if method == "active_bias":
            active_bias.train(task, noisy, settings, "threshold_closeness", 0.05, 2, 0, log)
        else:
            l2rw.train(task, rest, noisy, (z[val], noisy[val]), settings, 0, log)
        return rows

    for method in ("active_bias", "l2rw"):
        short, long = logged(4, method), logged(7, method)
        assert long[:4] == short and len(long) == 7
        assert long[6]["train_loss"] != short[3]["train_loss"]  # it kept training


def _metrics(tmp_path, *overrides: str) -> dict[str, float]:
    cfg = composed("dataset=digits", "profile=smoke", *overrides)
    outcome = execute_job(cfg, tmp_path, overrides=[])
    assert outcome.state == "done", outcome.record.error
    assert list(tmp_path.glob("**/history.csv"))
    return outcome.record.metrics


def test_active_bias_learns_on_digits_features(tmp_path):
    metrics = _metrics(tmp_path, "method=diva_active_bias", "method.label_noise=0.2")
    assert metrics["test_error"] < 0.25 and metrics["test_error_uniform"] < 0.25  # chance 0.9
    assert metrics["n_train"] == 1000
    # threshold closeness: confidently mis-fitted (flipped) samples weigh less than the rest
    assert metrics["weight_flipped"] < metrics["weight_clean"]


def test_l2rw_holds_out_twenty_percent_and_learns(tmp_path):
    metrics = _metrics(tmp_path, "method=diva_l2rw")
    assert metrics["test_error"] < 0.25 and metrics["test_error_uniform"] < 0.25
    assert (metrics["n_train"], metrics["n_val"]) == (800, 200)


@pytest.mark.parametrize(
    "overrides",
    [
        ("method=diva", "method.procedure=nosuch"),
        ("method=diva", "method.reweight.normalise=nosuch"),
        ("method=diva", "backbone@dataset.backbone=minilm"),
        ("method=diva_l2rw", "method.train_on=nosuch"),
        ("method=diva_active_bias", "method.weighting=nosuch"),
    ],
)
def test_bad_options_are_rejected_before_anything_runs(cli, overrides):
    code, _, err = cli("run", "dataset=digits", *overrides)
    assert code == 2 and "choose one of" in err and len(err.strip().splitlines()) == 1
