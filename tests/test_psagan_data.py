"""PSA-GAN data: mirror panels split as GluonTS does, windows, seeded cold-start and
missing-stretch masks, and the offline error for the download-only datasets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

from helpers import MIRROR, mirror_has
from iclr.cli.errors import DataUnavailableError, UserError
from iclr.methods.psagan.data import Panel, load, pad
from iclr.methods.psagan.windows import Scaler, WindowSampler, cold_start, missing_stretches

needs_m4 = pytest.mark.skipif(not mirror_has("m4-hourly"), reason="no m4-hourly mirror")


def toy_panel(n=3, t=60, h=6) -> Panel:
    rng = np.random.default_rng(0)
    lengths = np.array([t, t - 10, t - 20][:n])
    train, _ = pad([rng.random(k).astype(np.float32) + i for i, k in enumerate(lengths)])
    test, test_lengths = pad(
        [np.concatenate([row[:k], rng.random(h)]) for row, k in zip(train, lengths, strict=True)]
    )
    import pandas as pd

    return Panel(
        "toy",
        "h",
        h,
        pd.Period("2020-01-01 00:00", freq="h"),
        train,
        lengths,
        test,
        test_lengths,
        np.arange(n),
        np.zeros(n, dtype=np.int64),
    )


@needs_m4
def test_m4_hourly_panel_matches_gluonts_layout():
    panel = load(
        OmegaConf.create({"name": "m4_hourly", "source": "m4_hourly"}), MIRROR / "m4-hourly"
    )
    assert panel.train.shape == (414, 960) and panel.num_series == 414
    assert panel.train_lengths.min() == 700 and panel.train_lengths.max() == 960
    assert panel.prediction_length == 48
    np.testing.assert_array_equal(panel.test_lengths, panel.train_lengths + 48)
    i = int(np.argmin(panel.train_lengths))
    np.testing.assert_array_equal(panel.test[i, :700], panel.train[i, :700])
    assert not np.isnan(panel.test[i, : 700 + 48]).any()


@pytest.mark.skipif(not mirror_has("exchange-rate-lstnet"), reason="no exchange-rate mirror")
def test_exchange_rate_rolling_windows():
    cfg = OmegaConf.create(
        {
            "name": "exchange_rate",
            "source": "exchange_rate",
            "prediction_length": 30,
            "rolling_windows": 5,
        }
    )
    panel = load(cfg, MIRROR / "exchange-rate-lstnet")
    assert panel.train.shape == (8, 7588 - 150)
    assert len(panel.test) == 40
    assert sorted(set(panel.test_lengths.tolist())) == [7588 - 30 * k for k in (4, 3, 2, 1, 0)]
    np.testing.assert_array_equal(panel.test_ids[:8], np.arange(8))


def test_offline_gluonts_dataset_says_not_available(monkeypatch):
    cfg = OmegaConf.create(
        {"name": "electricity_nips", "source": "gluonts", "repository_name": "electricity_nips"}
    )
    with pytest.raises(DataUnavailableError, match="not available offline"):
        load(cfg, Path("unused"))


def test_artificial_panel_is_seeded():
    cfg = OmegaConf.create(
        {
            "name": "psagan_artificial",
            "source": "artificial",
            "num_series": 4,
            "length_low": 100,
            "length_high": 120,
            "prediction_length": 24,
            "generator_seed": 3,
        }
    )
    a, b = load(cfg, Path("unused")), load(cfg, Path("unused"))
    np.testing.assert_array_equal(a.train, b.train)
    assert a.num_series == 4 and (a.test_lengths == a.train_lengths + 24).all()


def test_windows_are_observed_scaled_and_carry_their_time_features():
    panel = toy_panel()
    panel, mask = missing_stretches(panel, 5, seed=1, per_series=2)
    scaler = Scaler.fit(panel)
    sampler = WindowSampler(panel, scaler, 16, context=4, seed=0)
    batch = sampler.sample(64)
    assert batch.target.shape == (64, 16) and batch.context.shape == (64, 4)
    assert np.isfinite(batch.target.numpy()).all() and np.isfinite(batch.context.numpy()).all()
    assert batch.target.min() >= 0 and batch.target.max() <= 1
    # the window's time features are those of its positions (hour of day advances by 1/23)
    hours = batch.time_feat[:, 0].numpy()
    step = np.diff(hours, axis=1)
    assert np.allclose(step[(step > 0)], 1 / 23, atol=1e-5)
    # no valid window overlaps a missing value
    row, start = sampler.rows, sampler.starts
    span = np.arange(20)
    assert not mask[row[:, None], start[:, None] + span].any()


def test_one_window_per_series_first():
    sampler = WindowSampler(toy_panel(), Scaler.fit(toy_panel()), 8, split="test", seed=0)
    batch = sampler.sample(3, one_per_series=True)
    assert sorted(batch.series.tolist()) == [0, 1, 2]


def test_cold_start_keeps_the_most_recent_fraction():
    panel = toy_panel()
    cold = cold_start(panel, 0.5)
    np.testing.assert_array_equal(cold.train_lengths, [30, 25, 20])
    for i, (k, n) in enumerate(zip(cold.train_lengths, panel.train_lengths, strict=True)):
        np.testing.assert_array_equal(cold.train[i, :k], panel.train[i, n - k : n])
        # the test entry keeps the same recent history and the full horizon
        np.testing.assert_array_equal(cold.test[i, : k + 6], panel.test[i, n - k : n + 6])
    assert (cold.offsets == panel.train_lengths - cold.train_lengths).all()
    with pytest.raises(UserError, match="fraction"):
        cold_start(panel, 0.0)


def test_missing_stretches_are_seeded_and_spare_the_horizon():
    panel = toy_panel()
    a, mask_a = missing_stretches(panel, 7, seed=5)
    b, mask_b = missing_stretches(panel, 7, seed=5)
    _, mask_c = missing_stretches(panel, 7, seed=6)
    np.testing.assert_array_equal(mask_a, mask_b)
    assert not np.array_equal(mask_a, mask_c)
    assert (mask_a.sum(axis=1) == 7).all()  # one stretch of exactly 7 per series
    for i, n in enumerate(panel.train_lengths):
        run = np.flatnonzero(mask_a[i])
        assert run.max() - run.min() == 6 and run.max() < n
        assert np.isnan(a.train[i, run]).all() and np.isnan(a.test[i, run]).all()
        assert np.isfinite(a.test[i, n : n + 6]).all()  # horizon untouched
