"""Context-FID: the Fréchet distance against its closed form, the causal encoder is causal,
the triplet loss trains it, and on M4 hourly real-vs-real scores below noise."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from helpers import MIRROR, mirror_has
from iclr.methods.psagan.encoder import (
    CausalCNNEncoder,
    fill_missing,
    sample_triplets,
    train_encoder,
    triplet_loss,
)
from iclr.methods.psagan.fid import context_fid, frechet_distance


def test_frechet_distance_matches_gaussian_closed_form():
    rng = np.random.default_rng(0)
    a = rng.normal(1.0, 2.0, (200_000, 1))
    b = rng.normal(-0.5, 0.5, (200_000, 1))
    # 1-D: (μa − μb)² + (σa − σb)²
    assert frechet_distance(a, b) == pytest.approx(1.5**2 + 1.5**2, rel=1e-2)
    x = rng.normal(size=(500, 6))
    assert frechet_distance(x, x) == pytest.approx(0.0, abs=1e-6)
    # diagonal covariances: Σ (μ diff)² + Σ (σa − σb)²
    c = rng.normal(0, 1, (100_000, 3)) * np.array([1.0, 2.0, 3.0])
    d = rng.normal(0, 1, (100_000, 3)) + np.array([1.0, 0.0, 0.0])
    assert frechet_distance(c, d) == pytest.approx(1 + 0 + 1 + 4, rel=2e-2)


def test_encoder_is_causal_and_pools_to_a_fixed_size():
    enc = CausalCNNEncoder(1, 8, 2, 16, 4, 3)
    x = torch.randn(2, 30)
    inner = enc.network(x[:, None])
    y = x.clone()
    y[:, 20:] += 5.0  # the future changes ...
    inner_y = enc.network(y[:, None])
    torch.testing.assert_close(inner[..., :20], inner_y[..., :20])  # ... the past does not
    assert enc(x).shape == (2, 4) and enc(torch.randn(3, 77)).shape == (3, 4)


def test_triplets_and_loss():
    rng = np.random.default_rng(0)
    series = rng.random((5, 50)).astype(np.float32)
    lengths = np.array([50, 40, 30, 45, 50])
    ref, pos, neg = sample_triplets(series, lengths, 6, 3, 25, rng)
    assert ref.shape[0] == 6 and neg.shape[:2] == (6, 3)
    assert pos.shape[1] <= ref.shape[1] <= 25
    e = torch.randn(6, 4)
    # aligned positives and opposite negatives give a lower loss than the reverse
    assert triplet_loss(e, e, -e[:, None].expand(6, 3, 4)) < triplet_loss(
        e, -e, e[:, None].expand(6, 3, 4)
    )


def test_fill_missing_forward_fills_inside_series_only():
    values = np.array(
        [[np.nan, 1, np.nan, 3, np.nan], [2, np.nan, np.nan, np.nan, np.nan]], dtype=np.float32
    )
    out = fill_missing(values, np.array([4, 2]))
    np.testing.assert_array_equal(out[0, :4], [1, 1, 1, 3])
    np.testing.assert_array_equal(out[1, :2], [2, 2])
    assert np.isnan(out[0, 4]) and np.isnan(out[1, 2:]).all()


@pytest.mark.skipif(not mirror_has("m4-hourly"), reason="no m4-hourly mirror")
def test_context_fid_real_vs_real_below_noise_on_m4():
    from iclr.methods.psagan.data import load
    from iclr.methods.psagan.windows import Scaler, WindowSampler

    panel = load(
        OmegaConf.create({"name": "m4_hourly", "source": "m4_hourly"}), MIRROR / "m4-hourly"
    )
    scaler = Scaler.fit(panel)
    scaled = fill_missing(scaler.transform(panel.train, np.arange(414)), panel.train_lengths)
    cfg = OmegaConf.create(
        dict(
            channels=16,
            depth=2,
            reduced_size=32,
            embedding=16,
            kernel_size=3,
            negatives=4,
            max_len=64,
            epochs=1,
            batches_per_epoch=15,
            batch_size=16,
            lr=1e-3,
        )
    )
    encoder, stats = train_encoder(scaled, panel.train_lengths, cfg, seed=0)
    assert np.isfinite(stats["encoder_loss"])
    sampler = WindowSampler(panel, scaler, 32, split="test", seed=0)
    gen = torch.Generator().manual_seed(0)
    out = context_fid(
        encoder, sampler, lambda b: torch.rand(b.target.shape, generator=gen), runs=3, windows=128
    )
    assert out["context_fid_real"] < 0.5 * out["context_fid"]
    assert out["raw_fid_real"] < 0.5 * out["raw_fid"]
    assert out["context_fid_std"] > 0
