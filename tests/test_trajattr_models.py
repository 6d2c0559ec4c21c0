"""trajattr predictors and the mixture maths: closed forms against torch.distributions, both
decoders, masking = removal, sampling statistics."""

from __future__ import annotations

import pytest
import torch
from omegaconf import OmegaConf

from iclr.methods.trajattr.mixture import TrajectoryMixture, cholesky2x2, gaussian2d_log_prob
from iclr.methods.trajattr.models import TrajectronLite, kinematic_state

CFG = {
    "interaction": "edge",
    "enc_hidden": 8,
    "dec_hidden": 16,
    "prior_hidden": 8,
    "latent_modes": 5,
    "history_layers": 2,
    "dropout": 0.0,
    "decoder": "gru",
}


def test_gaussian_log_prob_and_cholesky_match_torch():
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(7, 2, 2, generator=gen)
    cov = a @ a.transpose(1, 2) + 0.1 * torch.eye(2)
    mean, x = torch.randn(7, 2, generator=gen), torch.randn(7, 2, generator=gen)
    ref = torch.distributions.MultivariateNormal(mean, cov).log_prob(x)
    assert torch.allclose(gaussian2d_log_prob(x, mean, cov), ref, atol=1e-5)
    assert torch.allclose(cholesky2x2(cov), torch.linalg.cholesky(cov), atol=1e-5)


def test_mixture_nll_and_samples_of_one_known_mode():
    # one mode, velocity 1 m/s along x with std 0.1: positions (k·dt, 0), variance k·dt²·0.01
    f, dt = 12, 0.4
    mean = torch.zeros(1, 1, f, 2)
    mean[..., 0] = 1.0
    cov = torch.eye(2).expand(1, 1, f, 2, 2) * 0.01
    mix = TrajectoryMixture(torch.zeros(1, 1), mean, cov, dt)
    k = torch.arange(1, f + 1, dtype=torch.float32)
    assert torch.allclose(mix.pos_mean[0, 0, :, 0], k * dt)
    y = mix.pos_mean[:, 0]
    expected = -gaussian2d_log_prob(y[0], y[0], mix.pos_cov[0, 0]).mean()
    assert mix.step_nll(y, log_p_max=100.0).item() == pytest.approx(expected.item(), rel=1e-5)
    gen = torch.Generator().manual_seed(0)
    samples = mix.sample(
        torch.rand(1, 4000, generator=gen), torch.randn(1, 4000, f, 2, generator=gen)
    )
    final = samples[0, :, -1]
    assert final.mean(0)[0].item() == pytest.approx(f * dt, abs=0.01)
    assert final.var(0)[1].item() == pytest.approx(f * dt**2 * 0.01, rel=0.1)


@pytest.mark.parametrize("decoder", ["gru", "mlp"])
@pytest.mark.parametrize("interaction", ["edge", "sum", "none"])
def test_decoders_train_and_a_masked_neighbour_is_removed(decoder, interaction):
    torch.manual_seed(0)
    cfg = OmegaConf.create(CFG | {"decoder": decoder, "interaction": interaction})
    model = TrajectronLite(cfg, 0.4, 1.0, 12)
    hist = torch.cumsum(torch.randn(4, 8, 2) * 0.3, 1)
    hist = hist - hist[:, -1:]
    nb = torch.randn(4, 3, 8, 2)
    mask = torch.tensor([[True, True, False]] * 4)
    mix = model(hist, nb, mask)
    assert mix.vel_mean.shape == (4, 5, 12, 2) and mix.logits.shape == (4, 5)
    loss = mix.sequence_nll(torch.randn(4, 12, 2)).mean()
    loss.backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)
    model.eval()
    with torch.no_grad():
        a = model(hist, nb, mask).vel_mean
        nb2 = nb.clone()
        nb2[:, 2] = 100.0  # the masked slot's content never matters
        assert torch.allclose(a, model(hist, nb2, mask).vel_mean)
        changed = nb.clone()
        changed[:, 0] += 1.0  # a real neighbour does (unless there is no interaction input)
        moved = not torch.allclose(a, model(hist, changed, mask).vel_mean)
        assert moved == (interaction != "none")


def test_static_track_has_zero_velocity_and_acceleration():
    state = kinematic_state(torch.zeros(3, 8, 2), 0.4)
    assert state.abs().max() == 0
    line = torch.stack([torch.arange(8.0), torch.zeros(8)], -1)
    s = kinematic_state(line, 0.5)
    assert torch.allclose(s[:, 2], torch.full((8,), 2.0)) and s[:, 4:].abs().max() == 0
