"""PSA-GAN networks, losses and schedule: growth to the target length, fade-in, attention,
spectral norm placement, LSGAN / moment loss values, warm-up counts."""

from __future__ import annotations

import pytest
import torch
from omegaconf import OmegaConf

from iclr.cli.errors import UserError
from iclr.methods.psagan.gru_gan import GRUDiscriminator, GRUGenerator
from iclr.methods.psagan.models import Discriminator, Generator, SelfAttention, num_stages
from iclr.methods.psagan.train import (
    depth_alpha,
    growth_schedule,
    lsgan_d,
    lsgan_g,
    moment_loss,
    pool_to,
    train_gan,
)


def inputs(batch=4, length=64, feats=5):
    torch.manual_seed(0)
    return torch.randn(batch, length), torch.randn(batch, feats, length), torch.arange(batch)


@pytest.mark.parametrize("target", [16, 64, 128])
def test_progressive_growth_reaches_target_length(target):
    noise, tf, ids = inputs(length=target)
    gen, disc = Generator(target, 5, 10, channels=8), Discriminator(target, 5, 10, channels=8)
    assert gen.max_depth == num_stages(target) - 1 == disc.max_depth
    for depth in range(gen.max_depth + 1):
        out = gen(noise, tf, ids, depth)
        assert out.shape == (4, 8 * 2**depth)
        assert disc(out, tf, ids, depth).shape == (4,)
    assert gen(noise, tf, ids).shape == (4, target)  # default depth = full


def test_target_length_must_be_power_of_two():
    with pytest.raises(UserError, match="power of two"):
        Generator(48, 5, 10)


def test_fade_in_alpha_zero_bypasses_the_new_block():
    noise, tf, ids = inputs(length=32)
    gen = Generator(32, 5, 10, channels=8)
    disc = Discriminator(32, 5, 10, channels=8)
    # alpha = 0: the newest stage (depth 2) contributes nothing, in G and in D
    gen(noise, tf, ids, depth=2, alpha=0.0).sum().backward()
    assert all(p.grad is None or p.grad.abs().max() == 0 for p in gen.blocks[1].parameters())
    assert gen.skips[1].weight.grad.abs().max() > 0
    x = torch.rand(4, 32)
    disc(x, tf, ids, depth=2, alpha=0.0).sum().backward()
    assert all(p.grad is None or p.grad.abs().max() == 0 for p in disc.blocks[0].parameters())
    # alpha = 1 equals the plain forward, 0 < alpha < 1 lies between the two paths
    with torch.no_grad():
        a = gen(noise, tf, ids, 2, 1.0)
        b = gen(noise, tf, ids, 2, 0.0)
        mid = gen(noise, tf, ids, 2, 0.25)
    torch.testing.assert_close(mid, 0.25 * a + 0.75 * b)


def test_attention_is_residual_with_zero_gamma_and_batched():
    attn = SelfAttention(8)
    x = torch.randn(3, 8, 20)
    torch.testing.assert_close(attn(x), x)  # γ starts at 0
    attn.gamma.data.fill_(1.0)
    full = attn(x)
    one = torch.stack([attn(x[i : i + 1])[0] for i in range(3)])
    torch.testing.assert_close(full, one)  # one batched (B, L, L) softmax = per-window attention
    assert not torch.allclose(full, x)


def test_spectral_norm_on_convs_not_on_attention_projections():
    gen = Generator(16, 5, 10, channels=8)
    block = gen.initial
    assert hasattr(block.conv, "parametrizations")
    assert not hasattr(block.attention.query, "parametrizations")
    assert not hasattr(block.attention.value, "parametrizations")
    no_attn = Generator(16, 5, 10, channels=8, attention=False)
    assert not any(isinstance(m, SelfAttention) for m in no_attn.modules())


def test_context_changes_psagan_c_output():
    noise, tf, ids = inputs(length=16)
    gen = Generator(16, 5, 10, channels=8, context_length=12)
    with torch.no_grad():
        a = gen(noise, tf, ids, context=torch.zeros(4, 12))
        b = gen(noise, tf, ids, context=torch.ones(4, 12))
    assert not torch.allclose(a, b)


def test_gru_gan_shapes():
    noise, tf, ids = inputs(length=24)
    gen, disc = GRUGenerator(24, 5, 10, hidden=8), GRUDiscriminator(24, 5, 10, hidden=8)
    out = gen(noise, tf, ids)
    assert out.shape == (4, 24) and out.min() >= 0 and out.max() <= 1
    assert disc(out, tf, ids).shape == (4,)


def test_losses_match_their_formulas():
    real, fake = torch.tensor([1.0, 0.0]), torch.tensor([0.5, -1.0])
    assert lsgan_d(real, fake).item() == pytest.approx(0.5 * 0.5 + 0.5 * (0.25 + 1) / 2)
    assert lsgan_g(fake).item() == pytest.approx(0.5 * (0.25 + 4) / 2)
    x = torch.randn(5, 30)
    assert moment_loss(x, x).item() == 0
    shifted = moment_loss(x + 2.0, x).item()
    assert shifted == pytest.approx(2.0, abs=1e-5)  # mean moves by 2, std unchanged
    assert moment_loss(3 * x, x).item() == pytest.approx(
        (2 * x.std(1)).mean().item() + (2 * x.mean(1)).abs().mean().item(), rel=1e-5
    )
    pooled = pool_to(torch.arange(8.0)[None], 4)
    torch.testing.assert_close(pooled, torch.tensor([[0.5, 2.5, 4.5, 6.5]]))


def test_schedule_depth_and_fade():
    cfg = OmegaConf.create({"epochs": 40, "schedule": None})
    schedule = growth_schedule(cfg, 3)
    assert schedule == [10, 20, 30]
    assert depth_alpha(5, schedule, 4) == (0, 1.0)
    assert depth_alpha(12, schedule, 4) == (1, 0.5)
    assert depth_alpha(15, schedule, 4) == (1, 1.0)
    assert depth_alpha(35, schedule, 0) == (3, 1.0)
    with pytest.raises(UserError, match="schedule"):
        growth_schedule(OmegaConf.create({"epochs": 4, "schedule": [1]}), 3)


class CountingSampler:
    """Stands in for a WindowSampler: fixed random windows, counts draws."""

    def __init__(self, length):
        from iclr.methods.psagan.windows import Batch

        self.batch = Batch(
            torch.rand(8, length), torch.randn(8, 5, length), torch.arange(8), torch.zeros(8, 0)
        )

    def sample(self, batch_size):
        return self.batch


def test_warm_up_then_alternation_counts_generator_steps(tmp_path):
    gen, disc = Generator(16, 5, 8, channels=4), Discriminator(16, 5, 8, channels=4)
    cfg = OmegaConf.create(
        dict(
            epochs=2,
            batches_per_epoch=15,
            batch_size=8,
            lr_generator=1e-4,
            lr_discriminator=1e-4,
            betas=[0.5, 0.9],
            nb_step_discrim=2,
            warmup_g_steps=3,
            warmup_d_steps=5,
            fade_in_epochs=0.5,
            schedule=None,
            moment_loss=1.0,
        )
    )
    stats = train_gan(gen, disc, CountingSampler(16), cfg, 0, tmp_path / "h.csv")
    # 3 warm-up G steps after 5 D steps each (18 iterations), then 1 G per 3 iterations.
    assert stats["generator_steps"] == 3 + (30 - 18) // 3
    assert stats["final_length"] == 16
    rows = (tmp_path / "h.csv").read_text().splitlines()
    assert rows[0].startswith("epoch,depth,alpha") and len(rows) == 3
