"""Predictors: constant velocity, and a Trajectron++-style CVAE decoder ("Trajectron-lite").

Trajectron-lite (ours, not Trajectron++): an LSTM history encoder of the target's state
(position, velocity, acceleration, relative to its current position); an interaction encoder —
``edge`` (Trajectron++Edge): every neighbour's state, concatenated with the target's, through a
shared edge LSTM, then additive attention over the real neighbours with the history encoding as
query; ``sum`` (Trajectron++ "orig"): the neighbours' states summed into one edge input;
``none``: no interaction input. A discrete latent z with K = 25 modes, p(z|x) from the context,
and a decoder per mode (``gru``: Trajectron++'s GRU over the horizon; ``mlp``: ours, all steps
at once, 10x cheaper on a CPU) that emits a 2-D Gaussian over each step's velocity, integrated into
positions (single integrator). Neighbours are removed by their mask (edge A_ij = 0).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from iclr.methods.trajattr.mixture import TrajectoryMixture


def kinematic_state(track: torch.Tensor, dt: float) -> torch.Tensor:
    """``[..., H, 6]`` position, velocity and acceleration of ``track [..., H, 2]`` (backward
    differences; the first step repeats the second's so a static track has all zeros)."""
    vel = torch.diff(track, dim=-2, prepend=track[..., :1, :]) / dt
    vel = torch.cat([vel[..., 1:2, :], vel[..., 1:, :]], dim=-2) if track.shape[-2] > 1 else vel
    acc = torch.diff(vel, dim=-2, prepend=vel[..., :1, :]) / dt
    return torch.cat([track, vel, acc], dim=-1)


class TrajectronLite(nn.Module):
    """History + interaction encoders, a K-mode discrete latent and a per-mode GRU decoder."""

    def __init__(self, cfg: Any, dt: float, scale: float, future: int) -> None:
        super().__init__()
        self.interaction = str(cfg.interaction)
        enc, dec, modes = int(cfg.enc_hidden), int(cfg.dec_hidden), int(cfg.latent_modes)
        self.dt, self.scale, self.future, self.modes = dt, scale, future, modes
        self.history = nn.LSTM(6, enc, num_layers=int(cfg.history_layers), batch_first=True)
        ctx = enc
        if self.interaction != "none":
            self.edge = nn.LSTM(12, enc, batch_first=True)
            ctx += enc
            if self.interaction == "edge":
                self.att_q = nn.Linear(enc, enc, bias=False)
                self.att_k = nn.Linear(enc, enc)
                self.att_v = nn.Linear(enc, 1, bias=False)
        self.dropout = nn.Dropout(float(cfg.dropout))
        self.prior = nn.Sequential(nn.Linear(ctx, int(cfg.prior_hidden)), nn.ReLU())
        self.prior_out = nn.Linear(int(cfg.prior_hidden), modes)
        self.decoder = str(cfg.get("decoder", "gru"))
        if self.decoder == "gru":  # Trajectron++: GRU over the horizon, one step at a time
            self.init_h = nn.Linear(ctx + modes, dec)
            self.cell = nn.GRUCell(ctx + modes + 2, dec)
            self.head = nn.Linear(dec, 5)
        else:  # mlp, ours (CPU profile): all steps at once from (x, z)
            self.mlp = nn.Sequential(
                nn.Linear(ctx + modes + 2, dec), nn.ReLU(), nn.Linear(dec, dec), nn.ReLU()
            )
            self.head = nn.Linear(dec, 5 * future)

    def encode(
        self, hist: torch.Tensor, nb_hist: torch.Tensor, nb_mask: torch.Tensor
    ) -> torch.Tensor:
        """Context ``[B, D]`` from the target history ``[B, H, 2]`` and neighbours
        ``[B, N, H, 2]`` with mask ``[B, N]`` (all in dataset units, target frame)."""
        state = kinematic_state(hist / self.scale, self.dt)
        _, (h, _) = self.history(state)
        h_hist = h[-1]
        if self.interaction == "none":
            return self.dropout(h_hist)
        b, n, steps, _ = nb_hist.shape
        nb_state = kinematic_state(nb_hist / self.scale, self.dt)
        mask = nb_mask.to(state.dtype)
        if self.interaction == "sum":
            summed = (nb_state * mask[..., None, None]).sum(1)
            _, (e, _) = self.edge(torch.cat([summed, state], -1))
            h_edge = e[-1]
        else:
            # only real (unmasked) neighbours go through the edge LSTM: most slots are padding
            rows, cols = torch.nonzero(nb_mask, as_tuple=True)
            joint = torch.cat([nb_state[rows, cols], state[rows]], -1)  # [R, H, 12]
            e = h_hist.new_zeros(b, n, h_hist.shape[-1])
            if len(rows):
                _, (packed, _) = self.edge(joint)
                e = e.index_put((rows, cols), packed[-1])
            score = self.att_v(torch.tanh(self.att_q(h_hist)[:, None] + self.att_k(e))).squeeze(-1)
            score = score.masked_fill(~nb_mask, float("-inf"))
            # no neighbour left: the softmax is all-NaN; the edge input is then zero
            weight = torch.nan_to_num(torch.softmax(score, -1), nan=0.0)
            h_edge = (weight[..., None] * e).sum(1)
        return self.dropout(torch.cat([h_hist, h_edge], -1))

    def forward(
        self, hist: torch.Tensor, nb_hist: torch.Tensor, nb_mask: torch.Tensor
    ) -> TrajectoryMixture:
        """The predictive mixture (in dataset units) for a batch of windows."""
        ctx = self.encode(hist, nb_hist, nb_mask)
        b, k = ctx.shape[0], self.modes
        logits = self.prior_out(self.prior(ctx))
        z = torch.eye(k, dtype=ctx.dtype, device=ctx.device).expand(b, k, k)
        inp = torch.cat([ctx[:, None].expand(-1, k, -1), z], -1).reshape(b * k, -1)
        # the first input velocity is the target's current velocity (scaled units)
        prev = ((hist[:, -1] - hist[:, -2]) / (self.scale * self.dt)).repeat_interleave(k, 0)
        if self.decoder == "mlp":
            out = self.head(self.mlp(torch.cat([inp, prev], -1))).reshape(b * k, self.future, 5)
        else:
            h = torch.tanh(self.init_h(inp))
            steps = []
            for _ in range(self.future):
                h = self.cell(torch.cat([inp, prev], -1), h)
                steps.append(self.head(h))
                prev = steps[-1][:, :2]  # Trajectron++ feeds back a sample; we feed the mean
            out = torch.stack(steps, 1)
        out = out.reshape(b, k, self.future, 5)
        mean = out[..., :2] * self.scale
        sigma = torch.exp(out[..., 2:4].clamp(-5.0, 3.0)) * self.scale
        rho = torch.tanh(out[..., 4]) * 0.99
        off = rho * sigma[..., 0] * sigma[..., 1]
        cov = torch.stack(
            [
                torch.stack([sigma[..., 0] ** 2, off], -1),
                torch.stack([off, sigma[..., 1] ** 2], -1),
            ],
            -2,
        )
        return TrajectoryMixture(logits, mean, cov, self.dt)


def constant_velocity(hist: torch.Tensor, future: int) -> torch.Tensor:
    """``[B, 1, F, 2]`` the last observed displacement repeated (positions relative to now)."""
    step = hist[:, -1] - hist[:, -2]
    return step[:, None, None] * torch.arange(1, future + 1, dtype=hist.dtype)[None, None, :, None]
