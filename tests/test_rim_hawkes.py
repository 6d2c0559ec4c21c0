"""Our Hawkes MLE: features equal brute-force sums, and a planted process is recovered."""

from __future__ import annotations

import numpy as np
import pytest

from iclr.methods.rim import hawkes
from iclr.methods.rim.protocol import Ragged


def brute_force_features(hist: hawkes.RelativeHistories, decays: np.ndarray) -> np.ndarray:
    rows = []
    for i, (t, u) in enumerate(zip(hist.times, hist.user, strict=True)):
        earlier = hist.times[:i][hist.user[:i] == u]
        excite = [(b * np.exp(-b * (t - earlier))).sum() for b in decays]
        rows.append([1.0, *excite, *(decays * np.exp(-decays * t))])
    return np.array(rows)


def test_event_features_and_states_match_double_sums():
    rng = np.random.default_rng(0)
    times = np.sort(rng.uniform(0, 3, 12))
    lengths = np.array([5, 1, 6])
    ragged = Ragged(
        np.concatenate([np.sort(p) for p in np.split(times, np.cumsum(lengths)[:-1])]),
        np.r_[0, np.cumsum(lengths)],
    )
    hist = hawkes.relative_histories(ragged, np.array([4.0, 4.0, 4.0]), horizon=2.0)
    decays = np.array([0.5, 2.0, 9.0])
    assert np.allclose(hawkes._event_features(hist, decays), brute_force_features(hist, decays))
    states = hawkes.states(hist, decays)
    for u in range(3):
        lag = hist.end[u] - hist.times[hist.user == u]
        assert np.allclose(states[u, :3], [(b * np.exp(-b * lag)).sum() for b in decays])
        assert np.allclose(states[u, 3:6], decays * np.exp(-decays * hist.end[u]))


def simulate(mu: float, branching: float, decay: float, span: float, n_users: int, seed: int):
    """Cluster simulation of a univariate exponential Hawkes process, many users."""
    rng = np.random.default_rng(seed)
    counts = rng.poisson(mu * span, n_users)
    users, times = np.repeat(np.arange(n_users), counts), rng.uniform(0, span, counts.sum())
    all_u, all_t = [users], [times]
    while len(times):
        kids = rng.poisson(branching, len(times))
        users, times = np.repeat(users, kids), np.repeat(times, kids)
        times = times + rng.exponential(1 / decay, len(times))
        users, times = users[times < span], times[times < span]
        all_u.append(users)
        all_t.append(times)
    users, times = np.concatenate(all_u), np.concatenate(all_t)
    order = np.lexsort((times, users))
    return users[order], times[order]


def test_maximum_likelihood_recovers_a_planted_process():
    users, times = simulate(mu=0.5, branching=0.6, decay=3.0, span=40.0, n_users=150, seed=1)
    # one sequence per user starting at 0: the "start" channel sits at time 0, data after it
    hist = hawkes.RelativeHistories(times, users, np.full(users.max() + 1, 40.0))
    decays = np.array([0.3, 3.0, 30.0])
    fit = hawkes.fit_hawkes(hist, decays, penalty_c=1e6)
    assert fit.adjacency.sum() == pytest.approx(0.6, abs=0.1)
    assert fit.adjacency[1] > fit.adjacency[0] + fit.adjacency[2]
    assert fit.baseline == pytest.approx(0.5, rel=0.25)
    # the fit beats a Poisson process with the same mean rate
    rate = len(times) / hist.end.sum()
    poisson = len(times) * np.log(rate) - rate * hist.end.sum()
    assert fit.log_likelihood > poisson
