"""PSA-GAN end to end: the smoke profile of both methods runs on M4 hourly and writes its
files; training beats the untrained generator on (Context-)FID; bad options are user errors;
DeepAR real vs real + synthetic runs through GluonTS's Evaluator."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from helpers import composed, mirror_has
from iclr.cli import schema
from iclr.cli.errors import DataUnavailableError, UserError
from iclr.methods.psagan.pipeline import run

needs_m4 = pytest.mark.skipif(not mirror_has("m4-hourly"), reason="no m4-hourly mirror")


def smoke(method: str, *overrides: str):
    return composed(f"method={method}", "dataset=m4_hourly", "profile=smoke", *overrides)


@needs_m4
@pytest.mark.parametrize("method", ["psagan", "psagan_gru_gan"])
def test_smoke_profile_runs_and_writes_its_files(method, tmp_path):
    metrics = run(smoke(method), tmp_path, torch.device("cpu"))
    for key in ("context_fid", "context_fid_real", "context_fid_noise", "raw_fid"):
        assert np.isfinite(metrics[key]) and metrics[key] >= 0
    assert metrics["final_length"] == 16
    for name in ("history.csv", "learning_curve.png", "samples.png", "psagan_metrics.json"):
        assert (tmp_path / name).stat().st_size > 0


@needs_m4
def test_psagan_c_conditions_on_the_context(tmp_path):
    metrics = run(smoke("psagan", "method.context_length=8"), tmp_path, None)
    assert np.isfinite(metrics["context_fid"]) and metrics["final_length"] == 16


@needs_m4
def test_bad_options_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="generator"):
        schema.check(smoke("psagan", "method.generator=lstm"))
    with pytest.raises(UserError, match="variant"):
        schema.check(smoke("psagan", "method.variant.kind=shuffle"))
    with pytest.raises(UserError, match="power of two"):
        run(smoke("psagan", "method.target_len=24"), tmp_path, None)


def test_offline_download_only_dataset_is_a_clear_error(tmp_path):
    cfg = composed("method=psagan", "dataset=traffic_nips", "profile=smoke")
    with pytest.raises(DataUnavailableError, match="not available offline"):
        run(cfg, tmp_path, None)


@needs_m4
def test_training_beats_the_untrained_generator_on_m4(tmp_path):
    """A short PSA-GAN run (length 16, 150 steps) must bring both FIDs far below those of the same
    network before training, against the same real test windows and encoder."""
    from iclr.methods.psagan.data import load_panel
    from iclr.methods.psagan.fid import context_fid
    from iclr.methods.psagan.pipeline import build_networks, encoder_for
    from iclr.methods.psagan.train import generate, train_gan
    from iclr.methods.psagan.windows import Scaler, WindowSampler

    cfg = smoke(
        "psagan",
        "method.train.epochs=6",
        "method.train.batches_per_epoch=25",
        "method.train.batch_size=64",
        "method.train.lr_generator=1e-3",
        "method.train.lr_discriminator=1e-3",
        "method.encoder.batches_per_epoch=5",
        f"paths.output_dir={tmp_path}",
    )
    torch.manual_seed(0)
    panel = load_panel(cfg)
    scaler = Scaler.fit(panel)
    sampler = WindowSampler(panel, scaler, 16, 0, "train", 0)
    generator, discriminator = build_networks(cfg, sampler.features.shape[0], panel.num_series)
    encoder, _ = encoder_for(cfg, panel, scaler, tmp_path)

    def score():
        gen = torch.Generator().manual_seed(1)
        test = WindowSampler(panel, scaler, 16, 0, "test", 1)
        with torch.no_grad():
            return context_fid(encoder, test, lambda b: generate(generator, b, gen), 3, 128)

    before = score()
    train_gan(generator, discriminator, sampler, cfg.method.train, 0, tmp_path / "h.csv")
    generator.eval()
    after = score()
    # measured: raw FID 4.8 -> 0.47, Context-FID 0.13 -> 0.007 (real-vs-real 0.0004)
    assert after["raw_fid"] < 0.3 * before["raw_fid"]
    assert after["context_fid"] < 0.3 * before["context_fid"]
    assert after["context_fid_real"] < after["context_fid"]


@pytest.mark.slow
@pytest.mark.skipif(not mirror_has("exchange-rate-lstnet"), reason="no exchange-rate mirror")
def test_deepar_real_vs_synthetic_on_exchange_rate(tmp_path, monkeypatch):
    caller = tmp_path / "caller"
    caller.mkdir()
    monkeypatch.chdir(caller)  # lightning's ModelCheckpoint once wrote ./checkpoints here
    cfg = composed(
        "method=psagan",
        "dataset=exchange_rate",
        "profile=smoke",
        "method.forecast.enabled=true",
        "method.forecast.epochs=1",
        "method.forecast.batches_per_epoch=5",
        "method.forecast.samples=20",
        "method.forecast.context_length=30",
    )
    metrics = run(cfg, tmp_path, None)
    for key in ("forecast/real/nrmse", "forecast/real/nd", "forecast/synthetic/nrmse"):
        assert np.isfinite(metrics[key]) and metrics[key] > 0
    assert metrics["forecast/synthetic_series"] == 8
    assert not any(caller.iterdir())


def test_synthetic_series_back_in_original_units():
    import pandas as pd

    from iclr.methods.psagan.forecast import synthetic_series
    from iclr.methods.psagan.windows import Scaler

    scaler = Scaler(np.array([10.0, -1.0], np.float32), np.array([2.0, 4.0], np.float32))

    class P:
        start = pd.Period("2020-01-01 00:00", freq="h")
        offsets = np.array([0, 5])

    out = synthetic_series(
        P, np.array([3, 0]), np.array([0, 1]), np.array([[0.0, 1.0], [0.5, 0.25]]), scaler
    )
    assert out[0][0] == P.start + 3 and out[1][0] == P.start + 5
    np.testing.assert_allclose(out[0][1], [10.0, 12.0])
    np.testing.assert_allclose(out[1][1], [1.0, 0.0])


def test_conditional_forecast_aligns_context_horizon_and_units():
    """A stub PSA-GAN-C that repeats the last context value must score exactly the naive
    forecast computed by hand on the original units."""
    from test_psagan_data import toy_panel

    from iclr.methods.psagan.forecast import conditional_forecast, point_scores
    from iclr.methods.psagan.windows import Scaler, time_feature_table

    class Naive(torch.nn.Module):
        context_length, target_len = 5, 8

        def forward(self, noise, time_feat, series, depth, alpha, context):
            return context[:, -1:].expand(-1, self.target_len)

    panel = toy_panel()
    scaler = Scaler.fit(panel)
    table = time_feature_table(panel, panel.test.shape[1] + 8)
    got = conditional_forecast(panel, scaler, Naive(), table, samples=2, seed=0)
    h = panel.prediction_length
    rows = np.arange(3)
    cut = panel.test_lengths - h
    truth = panel.test[rows[:, None], cut[:, None] + np.arange(h)]
    naive = np.repeat(panel.test[rows, cut - 1][:, None], h, axis=1)
    want = point_scores(truth, naive)
    assert got["nrmse"] == pytest.approx(want["nrmse"], rel=1e-5)
    assert got["nd"] == pytest.approx(want["nd"], rel=1e-5)
