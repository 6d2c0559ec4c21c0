"""Matching under exposure constraints (Mtch / OnlnMtch): greedy, the entropy-smoothed dual
(prices on items), and the dual with prices fitted on V and applied to D (online).

Follows ``rime/metrics/greedy_mtch.py`` (``assign_mtch``), ``rime/metrics/dual.py`` (``Dual``,
``_LitDual``; ``cvx.py`` at v1.0), ``rime/util/dual_bisect.py`` (``dual_solve_u``) and
``rime/__init__.py`` (``_mtch_update``) of awslabs/recurrent-intensity-model-experiments.
For each ``mult``:

- mult < 1 ("lb"): every item must reach at least C = c1 · mult users, k = k1 items per user;
- mult ≥ 1 ("ub"): up to k = k1 · mult items per user, at most C = c1 users per item.

The dual solves max Σ s·π s.t. Σ_y π(x, y) ≤ k (prices u(x) ≥ 0) and Σ_x π(x, y) ≤ or ≥ C
(prices v(y)), with entropy smoothing ε: π = sigmoid((s − u − v) / ε). Each epoch solves u
row-wise and then v column-wise (block-coordinate ascent) while ε is annealed from 1 to
``min_epsilon``.
Scores are divided by their maximum, as upstream does; excluded (already seen) pairs are set
just below every other score instead of −1e10, so the bisection brackets stay tight (they are
still chosen last).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numba
import numpy as np
import torch

from iclr.methods.rim.metrics import TIE_BREAKER, evaluate_assigned
from iclr.methods.rim.protocol import EvalSplit, reindex_items
from iclr.methods.rim.scores import EXCLUDED, LowRankScores


@numba.njit
def _assign_sorted(order_i, order_j, k_vec, c_vec, taken):  # pragma: no cover - compiled
    """Walk pairs by decreasing score; take a pair while its user and item have room."""
    for n in range(order_i.shape[0]):
        i, j = order_i[n], order_j[n]
        if k_vec[i] > 0 and c_vec[j] > 0 and not taken[i, j]:
            k_vec[i] -= 1
            c_vec[j] -= 1
            taken[i, j] = True
    return taken


def greedy(
    scores: torch.Tensor, topk: float, c: float, kind: str, generator: torch.Generator
) -> np.ndarray:
    """``assign_mtch``: greedy assignment over all pairs sorted by score (0/1 matrix)."""
    n_users, n_items = scores.shape
    noisy = scores + torch.rand(scores.shape, generator=generator, dtype=scores.dtype) * TIE_BREAKER
    order = torch.argsort(noisy.reshape(-1), descending=True).numpy()
    order_i, order_j = order // n_items, order % n_items

    def assign(k_vec, c_vec, taken):
        k_vec = np.broadcast_to(np.asarray(k_vec), (n_users,)).astype(np.int64).copy()
        c_vec = np.broadcast_to(np.asarray(c_vec), (n_items,)).astype(np.int64).copy()
        return _assign_sorted(order_i, order_j, k_vec, c_vec, taken)

    if kind == "ub":
        return assign(topk, c, np.zeros(scores.shape, dtype=np.bool_))
    min_total = min(n_users * topk, c * n_items)
    min_k = min(topk, int(math.ceil(min_total / n_users)))
    min_c = min(c, int(math.ceil(min_total / n_items)))
    first = assign(min_k, min_c, np.zeros(scores.shape, dtype=np.bool_))
    if topk > min_k:
        k_vec, c_vec = topk - first.sum(1), n_users
    else:
        k_vec, c_vec = n_items, c - first.sum(0)
    return assign(k_vec, c_vec, first.copy())


DUAL_STOPS = ("anneal", "last_feasible")  # method.matching.dual_stop (README)
HARD_EPSILON = 1e-4  # below this (scores are normalised to ≤ 1) sigmoid is a step: use top-k


def solve_prices(s: torch.Tensor, alpha: float, eps: float, n_iters: int = 24) -> torch.Tensor:
    """Per row, the price u with mean_y sigmoid((s − u) / ε) = alpha (``dual_solve_u``);
    +∞ when alpha ≤ 0 (nothing), −∞ when alpha ≥ 1 (everything).

    Bisection while ε is large; once ε ≤ ``HARD_EPSILON`` the smoothed solution is, to within
    ε, the threshold between the ⌈alpha·m⌉-th and next largest values, found by ``topk``."""
    if alpha <= 0:
        return torch.full((s.shape[0],), math.inf, dtype=s.dtype)
    if alpha >= 1:
        return torch.full((s.shape[0],), -math.inf, dtype=s.dtype)
    if eps <= HARD_EPSILON:
        want = alpha * s.shape[1]
        k = min(int(math.ceil(want - 1e-9)), s.shape[1] - 1)
        top = s.topk(k + 1, dim=1).values
        if abs(want - round(want)) < 1e-9:  # an integer count: any threshold in the gap
            return (top[:, k - 1] + top[:, k]) / 2
        frac = want - math.floor(want)  # the k-th value is taken with probability frac
        return top[:, k - 1] - eps * (math.log(frac) - math.log1p(-frac))
    shift = math.log(alpha) - math.log1p(-alpha)
    low = s.amin(1) - shift * eps - 1e-2
    high = s.amax(1) - shift * eps + 1e-2
    for _ in range(n_iters):
        mid = (low + high) / 2
        excess = torch.sigmoid((s - mid[:, None]) / eps).mean(1) - alpha
        low = torch.where(excess > 0, mid, low)
        high = torch.where(excess > 0, high, mid)
    return (low + high) / 2


def _clip(prices: torch.Tensor, kind: str) -> torch.Tensor:
    return prices.clamp(min=0) if kind == "ub" else prices.clamp(max=0)


def normalise(scores: torch.Tensor, top: float | None = None) -> tuple[torch.Tensor, float]:
    """Scores / max (float64); excluded pairs just below the smallest remaining score.

    float64, not upstream's float32: at ε ≈ 1e-4 the row solve in float32 can overshoot the
    per-user count by several items (58 → 63 on ml-latest-small at mult = 0.5)."""
    excluded = scores <= EXCLUDED / 2
    top = float(scores[~excluded].max()) if top is None else top
    s = (scores / top).double()
    floor = float(s[~excluded].min()) if (~excluded).any() else 0.0
    s[excluded] = floor - 1.0
    return s, top


class Dual:
    """The entropy-smoothed dual of ``CVX``: item prices fitted on one score matrix.

    Each epoch lowers ε by a constant factor, then solves the user prices u for all users and
    the item prices v for all items (upstream's SGD step on ½‖v − v_batch‖² with learning rate
    n_items / n_batches is exactly this update when the whole matrix is one batch; upstream
    sizes its batches by GPU memory, which gives one batch at these sizes). The read-out is
    upstream's too: fresh user prices for the matrix at hand, then sigmoid at the final ε; it
    does not enforce the item constraint, which holds only as far as the prices have converged.
    With upstream's schedule (100 epochs to ε = 1e-10) they have not, on ml-latest-small: items
    end above their cap or below their floor, and upstream's own update does the same (README,
    benchmarks/rim_dual.py). ``exposures`` reports how far every run ends from its constraints.

    ``stop="last_feasible"`` (not upstream's; ``method.matching.dual_stop``) keeps the prices and
    ε of the last epoch whose read-out on the fitted matrix meets the user caps and the item
    caps / floors (``meets``), instead of the final ones; it looks at the constraints only, no
    labels. When no epoch is feasible it keeps the final prices and sets ``feasible = False``;
    ``stop_epoch`` is the epoch kept."""

    def __init__(
        self,
        topk: float,
        c: float,
        kind: str,
        epochs: int,
        min_epsilon: float,
        stop: str = "anneal",
    ):
        if stop not in DUAL_STOPS:
            raise ValueError(f"stop={stop!r}: choose one of {', '.join(DUAL_STOPS)}")
        self.topk, self.c, self.kind = topk, c, kind
        self.epochs, self.min_epsilon, self.stop = epochs, min_epsilon, stop
        self.epsilon = 1.0
        self.prices: torch.Tensor | None = None
        self.top = 1.0
        # set by fit: the epoch whose prices are kept (1-based; the last unless last_feasible
        # stopped earlier) and, for last_feasible, whether its read-out met the constraints
        self.stop_epoch, self.feasible = 0, True

    def fit(self, scores: torch.Tensor, generator: torch.Generator) -> Dual:
        """Anneal ε and fit the item prices on ``scores`` (``generator`` draws their start)."""
        s, self.top = normalise(scores)
        n_users, n_items = s.shape
        alpha, beta = self.topk / n_items, self.c / n_users
        gamma = self.min_epsilon ** (1 / self.epochs)
        if not 0 < beta < 1:  # no binding item constraint: the prices are 0 (after clipping)
            self.epsilon, self.prices = self.min_epsilon, torch.zeros(n_items)
            self.stop_epoch = self.epochs
            if self.stop == "last_feasible":  # the user caps still apply (ties can break them)
                pi = _read_out(s, self.prices, alpha, self.epsilon)
                self.feasible = meets(pi, self.topk, self.c, self.kind)
            return self
        # upstream's start: item prices +U(0, 1) under caps (ub), -U(0, 1) under floors (lb)
        v = torch.rand(n_items, generator=generator, dtype=s.dtype) * (
            -1 if self.kind == "lb" else 1
        )
        kept: tuple[int, float, torch.Tensor] | None = None  # (epoch, ε, v) of the last feasible
        for epoch in range(1, self.epochs + 1):
            self.epsilon *= gamma
            u = _clip(solve_prices(s - v[None, :], alpha, self.epsilon), "ub")
            v = _clip(solve_prices((s - u[:, None]).T, beta, self.epsilon), self.kind)
            if self.stop == "last_feasible" and meets(
                _read_out(s, v, alpha, self.epsilon), self.topk, self.c, self.kind
            ):
                kept = (epoch, self.epsilon, v)
        self.prices, self.stop_epoch = v, self.epochs
        if self.stop == "last_feasible":
            if kept is None:  # nothing feasible: upstream's final prices, flagged
                self.feasible = False
            else:
                self.stop_epoch, self.epsilon, self.prices = kept
        return self

    def transform(self, scores: torch.Tensor) -> np.ndarray:
        """Fractional assignment π on ``scores`` with the fitted prices (new user prices)."""
        s, _ = normalise(scores, self.top)
        return _read_out(s, self.prices, self.topk / s.shape[1], self.epsilon).numpy()


def _read_out(s: torch.Tensor, v: torch.Tensor, alpha: float, eps: float) -> torch.Tensor:
    """Upstream's read-out on normalised scores: fresh user prices u for item prices v, then
    π = sigmoid((s − u − v) / ε)."""
    u = _clip(solve_prices(s - v[None, :], alpha, eps), "ub")
    shifted = s - torch.nan_to_num(u[:, None], posinf=1e30) - v[None, :]
    return torch.sigmoid(shifted / eps).double()


def meets(pi: torch.Tensor | np.ndarray, k: float, c: float, kind: str) -> bool:
    """Whether an assignment meets its constraints as ``exposures`` measures them: no user
    above k, and no item above the cap C (ub) or below the floor C (lb), within ``SLACK``."""
    pi = torch.as_tensor(pi)
    per_user, per_item = pi.sum(1), pi.sum(0)
    ok = bool((per_user <= k + SLACK).all())
    if kind == "ub":
        return ok and bool((per_item <= c + SLACK).all())
    return ok and (c <= 0 or bool((per_item >= c - SLACK).all()))


def constraints(mult: float, k1: int, c1: int) -> tuple[float, float, str]:
    """(k, C, kind) of one ``mult`` (``Experiment._mtch_update``)."""
    if mult < 1:
        return k1, c1 * mult, "lb"
    return k1 * mult, c1, "ub"


SLACK = 1e-2  # fractional assignments: a count within 0.01 of its bound meets it


def exposures(assigned: np.ndarray, k: float, c: float, kind: str) -> dict[str, float]:
    """How far an assignment is from its constraints: per-user counts against the cap k and
    per-item counts against the cap C (ub) or the floor C (lb).

    ``item_cap_ratio`` is max recs per item / C (ub; ≤ 1 when met), ``items_over_cap`` the
    fraction of items above C; ``item_floor_ratio`` min recs per item / C and
    ``items_under_floor`` the fraction below it (lb); ``user_cap_ratio`` and
    ``users_over_cap`` the same for users against k (both kinds)."""
    per_user, per_item = assigned.sum(1), assigned.sum(0)
    out = {
        "max_user_recs": float(per_user.max()),
        "max_item_recs": float(per_item.max()),
        "min_item_recs": float(per_item.min()),
        "user_cap_ratio": float(per_user.max() / k),
        "users_over_cap": float((per_user > k + SLACK).mean()),
    }
    if kind == "ub":
        out["item_cap_ratio"] = float(per_item.max() / c)
        out["items_over_cap"] = float((per_item > c + SLACK).mean())
    elif c > 0:
        out["item_floor_ratio"] = float(per_item.min() / c)
        out["items_under_floor"] = float((per_item < c - SLACK).mean())
    return out


def run_matching(
    cfg: Any,
    fitted: Any,
    models: dict[str, LowRankScores],
    d: EvalSplit,
    v: EvalSplit,
    out_dir: Path,
) -> dict[str, float]:
    """Greedy, Dual and Dual-Online over ``method.matching.mult`` for each model; metrics
    ``<model>/<solver>/mult=<m>/<metric>`` and a precision-vs-perplexity plot."""
    m = cfg.method.matching
    seed = int(cfg.seed)
    out: dict[str, float] = {}
    valid_models = fitted.models(reindex_items(v, d.items)) if m.online else {}
    v_exclude = reindex_items(v, d.items).exclude
    for name, model in models.items():
        s_d = model.with_exclude(d.exclude).dense()
        s_v = valid_models[name].with_exclude(v_exclude).dense() if m.online else None
        for mult in m.mult:
            k, c, kind = constraints(float(mult), d.topk, d.top_c)
            floor = c * len(d.items) if kind == "ub" else k * len(d.users)
            key = f"{name}/{{}}/mult={float(mult):g}/"
            gen = torch.Generator().manual_seed(seed)
            taken = greedy(s_d, k, c, kind, gen)
            found = evaluate_assigned(
                d.target, taken, float((s_d.numpy() * taken).sum()), min_total_recs=floor
            ) | exposures(taken, k, c, kind)
            out.update({key.format("greedy") + a: b for a, b in found.items()})
            solvers = {"dual": s_d, "dual_online": s_v} if m.online else {"dual": s_d}
            for solver, fit_on in solvers.items():
                stop = str(m.get("dual_stop", "anneal"))  # opt-in key: absent = upstream's
                dual = Dual(k, c, kind, int(m.dual_epochs), float(m.min_epsilon), stop)
                pi = dual.fit(fit_on, gen).transform(s_d)
                found = evaluate_assigned(
                    d.target, pi, float((s_d.numpy() * pi).sum()), min_total_recs=floor
                ) | exposures(pi, k, c, kind)
                if stop == "last_feasible":  # which ε was kept, and whether any was feasible
                    found["dual_stop_epoch"] = float(dual.stop_epoch)
                    found["dual_feasible"] = float(dual.feasible)
                out.update({key.format(solver) + a: b for a, b in found.items()})
    from iclr.methods.rim.plots import plot_matching

    plot_matching(out, list(models), [float(x) for x in m.mult], out_dir / "matching.png")
    return out
