"""User-intensity models λ(x) and the item-popularity factor, as log-score factors.

Follow ``rime/models/__init__.py`` (Pop, EMA), ``rime/models/hawkes.py`` and
``rime/models/hawkes_poisson.py`` of awslabs/recurrent-intensity-model-experiments:

- Pop: max(0.01, #history events) per user, max(0.01, #training events) per item (ItemPop);
- EMA: Σ_{t_j < T} exp(−(T − t_j) / H);
- Hawkes: λ at T of the maximum-likelihood Hawkes fit (``iclr.methods.rim.hawkes``) on the
  histories of D's users that have a finite test start;
- HawkesPoisson (HP, the RIM intensity): λ = f · softplus(θ) on the same Hawkes state features
  f, θ fitted by Poisson regression on V: minimise mean(λ_u − n_u log λ_u) + 1e-3/2 ‖w‖², where
  n_u is the number of V target events of user u.
"""

from __future__ import annotations

import numpy as np
import torch

from iclr.methods.rim import hawkes
from iclr.methods.rim.protocol import EvalSplit
from iclr.methods.rim.scores import LowRankScores, item_vector, user_vector


def user_pop(split: EvalSplit) -> LowRankScores:
    """Pop(user_rec=True, item_rec=False): history length per user."""
    return user_vector(np.log(np.fmax(0.01, split.user_hist_len)), len(split.items))


def item_pop(split: EvalSplit) -> LowRankScores:
    """Pop(user_rec=False, item_rec=True), "ItemPop": training events per item."""
    return item_vector(np.log(np.fmax(0.01, split.item_hist_len)), len(split.users))


def ema(split: EvalSplit) -> LowRankScores:
    """Exponential moving average of past events with time constant = horizon."""
    row = split.hist_times.row_ids()
    decay = np.exp(-(split.test_start[row] - split.hist_times.values) / split.horizon)
    score = np.bincount(row, weights=decay, minlength=len(split.users))
    return user_vector(np.log(score), len(split.items))


def test_histories(split: EvalSplit) -> hawkes.RelativeHistories:
    """The test users' histories relative to their first event, ending at their T."""
    return hawkes.relative_histories(split.hist_times, split.test_start, split.horizon)


def fit_hawkes(split: EvalSplit, decays: np.ndarray, penalty_c: float, max_iter: int):
    """Fit upstream's way: on D's training data, users with a finite T and a history."""
    users = np.flatnonzero(np.isfinite(split.train_test_start) & (split.train_times.lengths > 0))
    hist = hawkes.relative_histories(
        split.train_times.take(users), split.train_test_start[users], split.horizon
    )
    return hawkes.fit_hawkes(hist, decays, penalty_c, max_iter)


def hawkes_scores(fit: hawkes.HawkesFit, split: EvalSplit) -> LowRankScores:
    """λ(x) of a fitted Hawkes process at each test user's T."""
    intensity = fit.intensity(test_histories(split))
    return user_vector(np.log(np.fmax(intensity, 1e-300)), len(split.items))


def fit_hawkes_poisson(
    decays: np.ndarray, valid: EvalSplit, l2: float = 1e-3, max_iter: int = 1000
) -> np.ndarray:
    """Poisson regression of V's target counts on the Hawkes states: coefficients w ≥ 0."""
    x = torch.from_numpy(hawkes.states(test_histories(valid), decays))
    y = torch.from_numpy(np.ravel(valid.target.sum(axis=1)).astype(np.float64))

    def loss(w: torch.Tensor) -> torch.Tensor:
        rate = x @ w
        return (rate - y * torch.log(1e-10 + rate)).mean() + l2 / 2 * (w @ w)

    theta = torch.zeros(x.shape[1], dtype=torch.float64)
    return hawkes.minimise_nonnegative(loss, theta, max_iter).numpy()


def hawkes_poisson_scores(
    weights: np.ndarray, decays: np.ndarray, split: EvalSplit
) -> LowRankScores:
    """λ(x) = f(x) · w of the HawkesPoisson model at each test user's T."""
    intensity = hawkes.states(test_histories(split), decays) @ weights
    return user_vector(np.log(np.fmax(intensity, 1e-300)), len(split.items))
