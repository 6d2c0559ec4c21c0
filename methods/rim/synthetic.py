"""A synthetic event log with a planted marked point process, where RIM's product
S = p(y | x) · λ(x) is the right score by construction.

- Activity: each user is a univariate Hawkes process with its own baseline μ_u (Gamma
  distributed, so users differ in overall activity), branching ratio α and decay β, simulated
  by its cluster representation (immigrants, then generations of Poisson(α) children at
  Exp(β) delays), vectorised over all events of a generation.
- Marks: items follow a first-order Markov chain — with probability ``stickiness`` the next item
  is one of ``neighbours`` fixed successors of the current one, otherwise a Zipf-popular item.

So p(y | x) depends on the last item only and λ(x) on the recent event times only: an
item-choice model recovers the first, a self-exciting intensity the second, and UserRec needs
both.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def _hawkes_times(rng: np.random.Generator, cfg: Any) -> tuple[np.ndarray, np.ndarray]:
    """(user, time) of every event in [0, span), by generations of the branching process."""
    n_users, span = int(cfg.n_users), float(cfg.span)
    mu = rng.gamma(
        float(cfg.baseline_shape), float(cfg.baseline_mean) / float(cfg.baseline_shape), n_users
    )
    counts = rng.poisson(mu * span)
    users = np.repeat(np.arange(n_users), counts)
    times = rng.uniform(0, span, counts.sum())
    all_users, all_times = [users], [times]
    while len(times):
        children = rng.poisson(float(cfg.branching), len(times))
        users = np.repeat(users, children)
        times = np.repeat(times, children) + rng.exponential(1 / float(cfg.decay), children.sum())
        keep = times < span
        users, times = users[keep], times[keep]
        all_users.append(users)
        all_times.append(times)
    users, times = np.concatenate(all_users), np.concatenate(all_times)
    order = np.lexsort((times, users))
    return users[order], times[order]


def _markov_items(rng: np.random.Generator, users: np.ndarray, cfg: Any) -> np.ndarray:
    """Item of every event: a Markov chain along each user's events (one pass per position,
    all users at once)."""
    n_items = int(cfg.n_items)
    popularity = 1.0 / np.arange(1, n_items + 1) ** float(cfg.zipf)
    popularity /= popularity.sum()
    successors = rng.integers(0, n_items, (n_items, int(cfg.neighbours)))
    n = len(users)
    starts = np.flatnonzero(np.r_[True, users[1:] != users[:-1]])
    position = np.arange(n) - np.repeat(starts, np.diff(np.r_[starts, n]))
    items = rng.choice(n_items, n, p=popularity)  # fresh draws, used where the chain jumps
    sticky = rng.random(n) < float(cfg.stickiness)
    pick = rng.integers(0, int(cfg.neighbours), n)
    order = np.argsort(position, kind="stable")
    bounds = np.searchsorted(position[order], np.arange(position.max() + 2))
    for p in range(1, position.max() + 1):
        idx = order[bounds[p] : bounds[p + 1]]
        follow = idx[sticky[idx]]
        items[follow] = successors[items[follow - 1], pick[follow]]
    return items


def generate(cfg: Any, seed: int) -> pd.DataFrame:
    """The event table (USER_ID, ITEM_ID, TIMESTAMP) of the planted process."""
    rng = np.random.default_rng(seed)
    users, times = _hawkes_times(rng, cfg)
    items = _markov_items(rng, users, cfg)
    return pd.DataFrame({"USER_ID": users, "ITEM_ID": items, "TIMESTAMP": times})


def load(dataset_cfg: Any, folder: Path) -> pd.DataFrame:
    """Manifest loader: the synthetic log of ``dataset_cfg.synthetic`` (no files)."""
    return generate(dataset_cfg.synthetic, int(dataset_cfg.synthetic.seed))
