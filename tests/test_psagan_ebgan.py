"""PSA-GAN's EBGAN baseline: the pulling-away term against a brute-force double loop, the margin
hinge, the auto-encoder energy, the config checks, and a smoke run on M4 hourly."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from helpers import composed, mirror_has
from iclr.cli import schema
from iclr.cli.errors import UserError
from iclr.methods.psagan.ebgan import (
    AutoEncoderDiscriminator,
    ConvGenerator,
    ebgan_d_loss,
    pulling_away,
)

needs_m4 = pytest.mark.skipif(not mirror_has("m4-hourly"), reason="no m4-hourly mirror")


def smoke(*overrides: str):
    return composed("method=psagan_ebgan", "dataset=m4_hourly", "profile=smoke", *overrides)


def test_pulling_away_matches_a_brute_force_loop():
    torch.manual_seed(0)
    codes = torch.randn(5, 3, 4)
    flat = codes.flatten(1)
    total = 0.0
    for i in range(5):
        for j in range(5):
            if i != j:
                cos = flat[i] @ flat[j] / (flat[i].norm() * flat[j].norm())
                total += float(cos) ** 2
    assert pulling_away(codes).item() == pytest.approx(total / (5 * 4), rel=1e-5)
    # identical codes: every cosine is 1; orthogonal codes: 0; a batch of one: 0
    assert pulling_away(torch.ones(3, 6)).item() == pytest.approx(1.0)
    assert pulling_away(torch.eye(4)).item() == pytest.approx(0.0)
    assert pulling_away(torch.randn(1, 6)).item() == 0.0


def test_margin_hinge_is_zero_above_the_margin():
    real = torch.tensor([0.02, 0.04])
    fake = torch.tensor([0.3, 0.5], requires_grad=True)
    loss = ebgan_d_loss(real, fake, margin=0.1)
    assert loss.item() == pytest.approx(0.03)  # only E[D(x)] is left
    loss.backward()
    assert fake.grad.abs().max() == 0  # no push on fakes already above m
    below = ebgan_d_loss(real, torch.tensor([0.05, 0.3]), margin=0.1)
    assert below.item() == pytest.approx(0.03 + (0.1 - 0.05) / 2)


def test_energy_is_the_reconstruction_mse_and_shapes_follow_the_window():
    torch.manual_seed(0)
    x, tf, ids = torch.rand(4, 16), torch.randn(4, 5, 16), torch.arange(4)
    disc = AutoEncoderDiscriminator(16, 5, 10, channels=8, code_channels=4)
    energy, code = disc.energy_and_code(x, tf, ids)
    assert energy.shape == (4,) and code.shape == (4, 4, 4)
    cond = torch.cat([disc.embedding(ids)[:, :, None].expand(-1, -1, 16), tf], 1)
    recon = disc.decoder(disc.encoder(torch.cat([x[:, None], cond], 1)))[:, 0]
    torch.testing.assert_close(energy, (recon - x).square().mean(1))
    torch.testing.assert_close(disc(x, tf, ids), energy)
    fake = ConvGenerator(16, 5, 10, channels=8)(torch.randn(4, 16), tf, ids)
    assert fake.shape == (4, 16) and fake.min() >= 0 and fake.max() <= 1
    with pytest.raises(UserError, match="multiple of 4"):
        AutoEncoderDiscriminator(18, 5, 10)


def test_config_choices_and_generator_swap():
    from iclr.methods.psagan.gru_gan import GRUGenerator
    from iclr.methods.psagan.pipeline import build_networks

    cfg = smoke()
    schema.check(cfg)
    assert cfg.method.generator == "ebgan" and cfg.method.train.moment_loss == 0
    gen, disc = build_networks(cfg, 5, 10)
    assert isinstance(gen, ConvGenerator) and isinstance(disc, AutoEncoderDiscriminator)
    gen, _ = build_networks(smoke("method.ebgan.generator=gru"), 5, 10)
    assert isinstance(gen, GRUGenerator)
    with pytest.raises(UserError, match="generator"):
        schema.check(smoke("method.ebgan.generator=lstm"))


def test_training_step_uses_the_energy_losses(tmp_path):
    """Through PSA-GAN's loop: the D steps log real / fake energies, the G steps the term."""
    from test_psagan_models import CountingSampler

    from iclr.methods.psagan.train import train_gan

    torch.manual_seed(0)
    gen, disc = ConvGenerator(16, 5, 8, channels=4), AutoEncoderDiscriminator(16, 5, 8, 4)
    cfg = OmegaConf.create(
        dict(
            epochs=1,
            batches_per_epoch=9,
            batch_size=8,
            lr_generator=1e-3,
            lr_discriminator=1e-3,
            betas=[0.9, 0.999],
            nb_step_discrim=2,
            warmup_g_steps=1,
            warmup_d_steps=3,
            fade_in_epochs=0,
            schedule=None,
            moment_loss=0.0,
            margin=0.1,
            pt_weight=0.1,
        )
    )
    stats = train_gan(gen, disc, CountingSampler(16), cfg, 0, tmp_path / "h.csv")
    assert stats["generator_steps"] == 1 + (9 - 4) // 3
    with (tmp_path / "h.csv").open() as handle:
        (row,) = list(csv.DictReader(handle))
    for key in ("energy_real", "energy_fake", "pulling_away", "loss_d", "loss_g"):
        assert np.isfinite(float(row[key])) and float(row[key]) >= 0


@needs_m4
def test_smoke_run_on_m4_has_finite_metrics(tmp_path):
    from iclr.methods.psagan.pipeline import run

    metrics = run(smoke(), tmp_path, torch.device("cpu"))
    for key in ("context_fid", "context_fid_real", "context_fid_noise", "raw_fid"):
        assert np.isfinite(metrics[key]) and metrics[key] >= 0
    assert metrics["final_length"] == 16
    header = (tmp_path / "history.csv").read_text().splitlines()[0]
    assert "energy_real" in header and "pulling_away" in header
    for name in ("learning_curve.png", "samples.png", "psagan_metrics.json"):
        assert (tmp_path / name).stat().st_size > 0
