"""The predictive distribution: a mixture over the discrete latent's modes of per-step 2-D
Gaussians on positions, obtained by integrating per-step velocity Gaussians (Trajectron++'s
single-integrator dynamics), and the metrics on it (NLL, min-of-k ADE/FDE)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass
class TrajectoryMixture:
    """``logits [B, K]`` over modes; per mode and step the velocity mean ``[B, K, F, 2]`` and
    2×2 covariance ``[B, K, F, 2, 2]``; ``dt`` integrates velocities into positions."""

    logits: torch.Tensor
    vel_mean: torch.Tensor
    vel_cov: torch.Tensor
    dt: float

    @property
    def pos_mean(self) -> torch.Tensor:
        """Position means ``[B, K, F, 2]`` (relative to the current position)."""
        return torch.cumsum(self.vel_mean, dim=2) * self.dt

    @property
    def pos_cov(self) -> torch.Tensor:
        """Position covariances ``[B, K, F, 2, 2]`` (independent steps: covariances add)."""
        return torch.cumsum(self.vel_cov, dim=2) * self.dt**2

    def step_log_prob(self, y: torch.Tensor) -> torch.Tensor:
        """``[B, K, F]`` log N(y_t | mode k) of the ground truth ``y [B, F, 2]``."""
        return gaussian2d_log_prob(y[:, None], self.pos_mean, self.pos_cov)

    def sequence_nll(self, y: torch.Tensor) -> torch.Tensor:
        """``[B]`` −log Σ_k π_k Π_t N(y_t | k): the training objective (exact marginal over z)."""
        joint = self.step_log_prob(y).sum(-1) + torch.log_softmax(self.logits, -1)
        return -torch.logsumexp(joint, -1)

    def step_nll(self, y: torch.Tensor, log_p_max: float = 6.0) -> torch.Tensor:
        """``[B]`` mean over steps of −log p(y_t), p = the per-step mixture over all modes
        weighted by p(z|x), clamped at ``log_p_max`` as Trajectron++'s ``log_p_yt_xz_max``."""
        mix = torch.logsumexp(
            self.step_log_prob(y) + torch.log_softmax(self.logits, -1)[..., None], 1
        )
        return -mix.clamp(max=log_p_max).mean(-1)

    def sample(self, uniform: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """Trajectories ``[B, S, F, 2]`` from fixed random numbers (common random numbers make
        coalitions comparable): ``uniform [B, S]`` picks the mode by inverse CDF,
        ``noise [B, S, F, 2]`` draws each step's velocity from its Gaussian."""
        cdf = torch.cumsum(torch.softmax(self.logits, -1), -1)
        mode = torch.searchsorted(cdf, uniform.clamp(max=1 - 1e-6) * cdf[:, -1:]).clamp(
            max=self.logits.shape[1] - 1
        )
        idx = mode[..., None, None]
        mean = torch.gather(self.vel_mean, 1, idx.expand(-1, -1, *self.vel_mean.shape[2:]))
        cov = torch.gather(self.vel_cov, 1, idx[..., None].expand(-1, -1, *self.vel_cov.shape[2:]))
        chol = cholesky2x2(cov)
        vel = mean + (chol @ noise[..., None]).squeeze(-1)
        return torch.cumsum(vel, dim=2) * self.dt


def gaussian2d_log_prob(x: torch.Tensor, mean: torch.Tensor, cov: torch.Tensor) -> torch.Tensor:
    """Log-density of 2-D Gaussians, closed form (broadcasting over leading dimensions)."""
    a, b, c = cov[..., 0, 0], cov[..., 0, 1], cov[..., 1, 1]
    det = (a * c - b * b).clamp(min=1e-12)
    dx, dy = (x - mean).unbind(-1)
    quad = (c * dx * dx - 2 * b * dx * dy + a * dy * dy) / det
    return -0.5 * quad - 0.5 * torch.log(det) - math.log(2 * math.pi)


def cholesky2x2(cov: torch.Tensor) -> torch.Tensor:
    """Lower Cholesky factor of 2×2 covariances, closed form."""
    a, b, c = cov[..., 0, 0], cov[..., 0, 1], cov[..., 1, 1]
    l11 = a.clamp(min=1e-12).sqrt()
    l21 = b / l11
    l22 = (c - l21 * l21).clamp(min=1e-12).sqrt()
    zero = torch.zeros_like(l11)
    return torch.stack([torch.stack([l11, zero], -1), torch.stack([l21, l22], -1)], -2)


def displacement_errors(
    samples: torch.Tensor, y: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """min-of-S ADE and FDE ``[B]`` of ``samples [B, S, F, 2]`` against ``y [B, F, 2]``
    (each minimum taken separately, as Trajectron++'s ``compute_ade``/``compute_fde``)."""
    dist = torch.linalg.norm(samples - y[:, None], dim=-1)  # [B, S, F]
    return dist.mean(-1).min(-1).values, dist[..., -1].min(-1).values
