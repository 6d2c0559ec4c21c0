"""Univariate Hawkes process with a sum of exponential kernels, fitted by maximum likelihood.

Replaces ``tick.hawkes.HawkesSumExpKern`` used by ``rime/models/hawkes.py`` (tick's Hawkes
classes fail on Python 3.11, see the paper brief §7). As upstream (``_input_fn``,
``_predict_fn``): each user's history is put relative to its first event, in units of the
horizon H; the first event is a "start" event on a control channel (hetero=True) and the other
events are the data channel, whose intensity is

    λ(t) = μ + Σ_k a_k β_k Σ_{t_j < t} exp(−β_k (t − t_j)) + Σ_k b_k β_k exp(−β_k t),

with decays β_k = 1 / scales_k. Given the decays the intensity is linear in w = (μ, a, b) ≥ 0,
so the log-likelihood Σ_i log(Φ_i · w) − c · w is concave: Φ (per event) and c (the
compensator) are computed once, vectorised over users (one pass over sequence positions, each
position for all users at once), then w = softplus(θ) is fitted by L-BFGS with an L2 penalty
‖w‖² / (2C). Upstream fits tick's least-squares contrast; the issue asks for maximum likelihood.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from iclr.methods.rim.protocol import Ragged


@dataclass
class RelativeHistories:
    """Histories relative to each user's first event, in horizon units."""

    times: np.ndarray  # data events (all but each user's first), flat, sorted within user
    user: np.ndarray  # user row of every data event
    end: np.ndarray  # per user: (T − first event) / H


def relative_histories(times: Ragged, test_start: np.ndarray, horizon: float) -> RelativeHistories:
    """``_input_fn`` of upstream for every row of ``times`` at once (rows need ≥ 1 event)."""
    first = times.values[times.offsets[:-1]]
    row = times.row_ids()
    is_first = np.zeros(len(times.values), dtype=bool)
    is_first[times.offsets[:-1]] = True
    data = (times.values - first[row]) / horizon
    return RelativeHistories(data[~is_first], row[~is_first], (test_start - first) / horizon)


def decays_from_scales(n_scales: int, low: float, high: float) -> np.ndarray:
    """Decay rates 1 / scale for ``n_scales`` log-spaced scales in [low, high] (horizon units);
    upstream: ``np.logspace(-6, 1)``, i.e. 50 scales in [1e-6, 10]."""
    return 1.0 / np.logspace(np.log10(low), np.log10(high), n_scales)


def states(hist: RelativeHistories, decays: np.ndarray) -> np.ndarray:
    """Per-user features at the user's end time (``_predict_fn``): for each decay β_k,
    Σ_j β_k exp(−β_k (end − t_j)) over data events, then β_k exp(−β_k end) for the start event,
    then 1 for the baseline. Shape n_users × (2K + 1)."""
    n_users = len(hist.end)
    lag = hist.end[hist.user][:, None] - hist.times[:, None]
    excite = decays * np.exp(-decays * lag)
    by_data = (
        torch.zeros(n_users, len(decays), dtype=torch.float64)
        .index_add_(0, torch.from_numpy(hist.user), torch.from_numpy(excite))
        .numpy()
    )
    by_start = decays * np.exp(-decays * hist.end[:, None])
    return np.hstack([by_data, by_start, np.ones((n_users, 1))])


def _event_features(hist: RelativeHistories, decays: np.ndarray) -> np.ndarray:
    """Φ_i for every data event: [1, β_k Σ_{j<i} exp(−β_k (t_i − t_j)), β_k exp(−β_k t_i)].

    R_k(i) = exp(−β_k (t_i − t_{i−1})) (1 + R_k(i−1)) runs over positions within a user, each
    position for all users at once."""
    n = len(hist.times)
    recur = np.zeros((n, len(decays)))
    if n:
        starts = np.flatnonzero(np.r_[True, hist.user[1:] != hist.user[:-1]])
        position = np.arange(n) - np.repeat(starts, np.diff(np.r_[starts, n]))
        order = np.argsort(position, kind="stable")
        bounds = np.searchsorted(position[order], np.arange(position.max() + 2))
        for p in range(1, position.max() + 1):
            idx = order[bounds[p] : bounds[p + 1]]
            gap = hist.times[idx] - hist.times[idx - 1]
            recur[idx] = np.exp(-decays * gap[:, None]) * (1.0 + recur[idx - 1])
    from_start = decays * np.exp(-decays * hist.times[:, None])
    return np.hstack([np.ones((n, 1)), decays * recur, from_start])


def _compensator(hist: RelativeHistories, decays: np.ndarray) -> np.ndarray:
    """∫ of each feature over every user's window [0, end]: c · w is the expected count."""
    lag = hist.end[hist.user][:, None] - hist.times[:, None]
    by_data = (1.0 - np.exp(-decays * lag)).sum(0)
    by_start = (1.0 - np.exp(-decays * hist.end[:, None])).sum(0)
    return np.concatenate([[hist.end.sum()], by_data, by_start])


def _inverse_softplus(x: torch.Tensor) -> torch.Tensor:
    return x + torch.log(-torch.expm1(-x))


def minimise_nonnegative(
    loss: Callable[[torch.Tensor], torch.Tensor], theta: torch.Tensor, max_iter: int
) -> torch.Tensor:
    """argmin over w ≥ 0 of ``loss(w)``, as w = softplus(θ) from ``theta``, by L-BFGS."""
    theta = theta.clone().requires_grad_(True)
    optimizer = torch.optim.LBFGS(
        [theta],
        max_iter=max_iter,
        line_search_fn="strong_wolfe",
        tolerance_grad=1e-7,
        tolerance_change=1e-12,
    )

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        value = loss(torch.nn.functional.softplus(theta))
        value.backward()
        return value

    optimizer.step(closure)
    return torch.nn.functional.softplus(theta).detach()


@dataclass
class HawkesFit:
    """Fitted coefficients: baseline μ, data-channel a_k and start-channel b_k."""

    decays: np.ndarray
    baseline: float
    adjacency: np.ndarray  # a_k
    start_adjacency: np.ndarray  # b_k
    log_likelihood: float

    @property
    def weights(self) -> np.ndarray:
        """Coefficients in the order of ``states`` columns."""
        return np.concatenate([self.adjacency, self.start_adjacency, [self.baseline]])

    def intensity(self, hist: RelativeHistories) -> np.ndarray:
        """λ at each user's end time."""
        return states(hist, self.decays) @ self.weights


def fit_hawkes(
    hist: RelativeHistories, decays: np.ndarray, penalty_c: float = 1e3, max_iter: int = 1000
) -> HawkesFit:
    """Maximum-likelihood fit (mean log-likelihood per event, L2 = ‖w‖² / (2C))."""
    phi = torch.from_numpy(_event_features(hist, decays))
    comp = torch.from_numpy(_compensator(hist, decays))
    n_events = max(len(hist.times), 1)
    k = len(decays)
    rate = max(len(hist.times), 1) / max(float(hist.end.sum()), 1e-12)
    init = torch.cat([torch.tensor([rate]), torch.full((2 * k,), 1e-2 / k)]).double()
    weights = minimise_nonnegative(
        lambda w: (
            -(torch.log(phi @ w + 1e-300).sum() - comp @ w) / n_events + (w @ w) / (2 * penalty_c)
        ),
        _inverse_softplus(init),
        max_iter,
    )
    with torch.no_grad():
        loglik = float(torch.log(phi @ weights + 1e-300).sum() - comp @ weights)
        w = weights.numpy()
    return HawkesFit(decays, float(w[0]), w[1 : k + 1], w[k + 1 :], loglik)
