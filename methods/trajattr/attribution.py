"""Attribution of prediction *performance* to the players {past, each real neighbour, a random
agent}: the value of a coalition S is −error(S) on the ground-truth future (−NLL, −min-ADE,
−min-FDE from one forward pass), so a positive value means the feature reduces the error.

Removal (``removal``):
- ``mask`` (the paper's baseline Shapley): the past becomes a static, non-moving trajectory at the
  current position (in our relative frame this is also the code's ``zero``), a neighbour's edge is
  masked (A_ij = 0), the random agent's slot is masked;
- ``random`` (Appendix B, marginal Shapley with one draw): a removed past is replaced by the
  history of a random agent of the training scenes, a removed neighbour (or random agent) by a
  random neighbour of another training window; the donors are fixed per window.

Windows are grouped by player count; each group is one batch of games whose coalitions all go
through the model together (rows chunked to bound memory). Only the group loop is in Python.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import torch

from iclr.methods.trajattr import shapley
from iclr.methods.trajattr.mixture import displacement_errors
from iclr.methods.trajattr.models import TrajectronLite
from iclr.methods.trajattr.windows import Windows, random_agents, random_pasts

VALUE_KINDS = ("nll", "ade", "fde")


@dataclass
class GameBatch:
    """Games of one player count: windows, fixed donors and common random numbers."""

    w: Windows
    m: int  # real neighbours per window
    random_agent: torch.Tensor | None  # [b, H, 2] or None (no random-agent player)
    donor_past: torch.Tensor  # [b, H, 2]
    donor_nb: torch.Tensor  # [b, m + 1, H, 2]
    uniform: torch.Tensor  # [b, S]
    noise: torch.Tensor  # [b, S, F, 2]

    @property
    def n_players(self) -> int:
        return 1 + self.m + (self.random_agent is not None)


def coalition_inputs(g: GameBatch, bits: torch.Tensor, removal: str) -> tuple[torch.Tensor, ...]:
    """Model inputs ``(hist, nb_hist, nb_mask)`` for coalitions ``bits [b, M, n]``, flattened to
    ``b·M`` rows."""
    b, rows, _ = bits.shape
    past = bits[..., 0, None, None]
    h = g.w.hist[:, None]
    nb = g.w.nb_hist[:, : g.m]
    if g.random_agent is not None:
        nb = torch.cat([nb, g.random_agent[:, None]], 1)
    nb_bits = bits[..., 1:]
    slots = nb.shape[1]
    if removal == "mask":
        hist = torch.where(past, h, torch.zeros_like(h))
        nb_hist = nb[:, None].expand(-1, rows, -1, -1, -1)
        nb_mask = nb_bits
    else:  # random: replacement by random agents (Appendix B)
        hist = torch.where(past, h, g.donor_past[:, None])
        nb_hist = torch.where(nb_bits[..., None, None], nb[:, None], g.donor_nb[:, None, :slots])
        nb_mask = torch.ones_like(nb_bits)
    hist = hist.expand(-1, rows, -1, -1)
    if slots == 0:  # keep one padded slot so the edge encoder has a tensor to read
        nb_hist = torch.zeros(b, rows, 1, *g.w.hist.shape[1:])
        nb_mask = torch.zeros(b, rows, 1, dtype=torch.bool)
    shape = (b * rows,)
    return (
        hist.reshape(*shape, *hist.shape[2:]),
        nb_hist.reshape(*shape, *nb_hist.shape[2:]),
        nb_mask.reshape(*shape, nb_mask.shape[-1]),
    )


def make_value_fn(
    model: TrajectronLite, g: GameBatch, removal: str, max_rows: int
) -> shapley.ValueFn:
    """``value(bits) -> [b, M, 3]``: −(NLL, min-ADE, min-FDE) of each coalition."""

    @torch.no_grad()
    def value(bits: torch.Tensor) -> torch.Tensor:
        b, rows, _ = bits.shape
        hist, nb_hist, nb_mask = coalition_inputs(g, bits, removal)
        fut = g.w.fut.repeat_interleave(rows, 0)
        uniform = g.uniform.repeat_interleave(rows, 0)
        noise = g.noise.repeat_interleave(rows, 0)
        out = []
        for lo in range(0, b * rows, max_rows):
            sl = slice(lo, lo + max_rows)
            mix = model(hist[sl], nb_hist[sl], nb_mask[sl])
            ade, fde = displacement_errors(mix.sample(uniform[sl], noise[sl]), fut[sl])
            out.append(torch.stack([mix.step_nll(fut[sl]), ade, fde], -1))
        return -torch.cat(out).reshape(b, rows, 3)

    return value


@dataclass
class Attribution:
    """Per window: φ of the past, of every real neighbour (NaN-padded), of the random agent."""

    past: torch.Tensor  # [K, V]
    neighbours: torch.Tensor  # [K, N, V], NaN where there is no real neighbour
    random: torch.Tensor  # [K, V] (NaN without a random-agent player)
    n_players: torch.Tensor  # [K]
    exact: torch.Tensor  # [K] bool: exact (True) or sampled
    efficiency_gap: torch.Tensor  # [K, V] Σφ − (v(N) − v(∅)) (0 for Shapley estimators)
    seconds: float

    @property
    def interaction(self) -> torch.Tensor:
        """The paper's social interaction score per window: max over real neighbours (0 if
        none)."""
        filled = torch.nan_to_num(self.neighbours, nan=float("-inf"))
        best = filled.max(1).values if filled.shape[1] else torch.full_like(self.past, -torch.inf)
        return torch.where(torch.isinf(best), torch.zeros_like(best), best)


def attribute(model: TrajectronLite, w: Windows, pool: Windows, cfg: Any, seed: int) -> Attribution:
    """Attributions of ``w``'s windows (``cfg`` = ``method.attribution``); donors for the random
    agent and for ``random`` removal come from ``pool`` (the training windows)."""
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    k, steps = len(w), w.fut.shape[1]
    use_random = bool(cfg.random_agent)
    samples = int(cfg.samples)
    rand_agent = random_agents(pool, k, gen)
    donor_past = random_pasts(pool, k, gen)
    slots = w.nb_mask.shape[1] + 1
    donor_nb = random_agents(pool, k * slots, gen).reshape(k, slots, *w.hist.shape[1:])
    uniform = torch.rand(k, samples, generator=gen)
    noise = torch.randn(k, samples, steps, 2, generator=gen)
    m_all = w.n_neighbors
    n_val = len(VALUE_KINDS)
    past = torch.zeros(k, n_val, dtype=torch.float64)
    rand = torch.full((k, n_val), float("nan"), dtype=torch.float64)
    neigh = torch.full((k, w.nb_mask.shape[1], n_val), float("nan"), dtype=torch.float64)
    gap = torch.zeros(k, n_val, dtype=torch.float64)
    exact_flag = torch.zeros(k, dtype=torch.bool)
    estimator = str(cfg.estimator)
    start = time.perf_counter()
    for m in torch.unique(m_all).tolist():
        idx = torch.nonzero(m_all == m).squeeze(1)
        g = GameBatch(
            w.index(idx),
            m,
            rand_agent[idx] if use_random else None,
            donor_past[idx],
            donor_nb[idx],
            uniform[idx],
            noise[idx],
        )
        n = g.n_players
        value = make_value_fn(model, g, str(cfg.removal), int(cfg.max_rows))
        b = len(idx)
        if estimator == "banzhaf":  # the released code's p = 1/2 scheme
            phi = shapley.released_banzhaf(value, b, n, int(cfg.banzhaf_draws), gen)
        elif estimator == "shapley" and n <= int(cfg.max_exact_players):
            phi = shapley.exact(value, b, n, "shapley")
            exact_flag[idx] = True
        else:  # shapley above max_exact_players
            phi = shapley.permutation_shapley(value, b, n, int(cfg.permutations), gen)
        ends = value(
            torch.stack([torch.zeros(n, dtype=torch.bool), torch.ones(n, dtype=torch.bool)])[
                None
            ].expand(b, -1, -1)
        ).double()
        gap[idx] = phi.sum(1) - (ends[:, 1] - ends[:, 0])
        past[idx] = phi[:, 0]
        neigh[idx, :m] = phi[:, 1 : 1 + m]
        if use_random:
            rand[idx] = phi[:, -1]
    n_players = 1 + m_all + int(use_random)
    return Attribution(past, neigh, rand, n_players, exact_flag, gap, time.perf_counter() - start)


def bootstrap_ci(
    x: torch.Tensor, gen: torch.Generator, resamples: int = 1000, level: float = 0.95
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the mean of ``x [K]`` (vectorised)."""
    x = x[~torch.isnan(x)].double()
    if len(x) < 2:
        return float("nan"), float("nan")
    means = x[torch.randint(len(x), (resamples, len(x)), generator=gen)].mean(1)
    alpha = (1 - level) / 2
    lo, hi = torch.quantile(means, torch.tensor([alpha, 1 - alpha], dtype=torch.float64))
    return float(lo), float(hi)


def summarise(att: Attribution, seed: int, margin: float = 0.0) -> dict[str, float]:
    """Dataset-level means with 95% bootstrap CIs (``shap_<value>_<player>[_lo|_hi]``), the
    fraction of windows whose interaction score beats the random agent by ``margin``, counts
    and the throughput."""
    gen = torch.Generator().manual_seed(seed)
    out: dict[str, float] = {}
    inter = att.interaction
    for v, kind in enumerate(VALUE_KINDS):
        for player, x in (("past", att.past), ("interaction", inter), ("random", att.random)):
            col = x[:, v]
            out[f"shap_{kind}_{player}"] = float(torch.nanmean(col))
            out[f"shap_{kind}_{player}_lo"], out[f"shap_{kind}_{player}_hi"] = bootstrap_ci(
                col, gen
            )
        if not torch.isnan(att.random[:, v]).all():
            out[f"shap_{kind}_frac_interaction_gt_random"] = float(
                (inter[:, v] > att.random[:, v] + margin).double().mean()
            )
        out[f"shap_{kind}_max_efficiency_gap"] = float(att.efficiency_gap[:, v].abs().max())
    k = len(att.past)
    out.update(
        shap_windows=float(k),
        shap_players_mean=float(att.n_players.double().mean()),
        shap_players_max=float(att.n_players.max()),
        shap_exact_fraction=float(att.exact.double().mean()),
        shap_seconds=att.seconds,
        shap_windows_per_s=k / max(att.seconds, 1e-9),
    )
    return out
