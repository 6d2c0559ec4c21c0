"""Matching: the compiled greedy equals a plain loop, and the dual meets the constraints at
close to the linear-programming optimum."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from helpers import composed
from iclr.cli import schema
from iclr.cli.errors import UserError
from iclr.methods.rim.matching import Dual, constraints, exposures, greedy
from iclr.methods.rim.matching_reference import lp_optimum, skewed_scores


def plain_greedy(scores: np.ndarray, k: int, c: int) -> np.ndarray:
    taken = np.zeros(scores.shape, dtype=bool)
    rows, cols = np.zeros(scores.shape[0]), np.zeros(scores.shape[1])
    for flat in np.argsort(-scores, axis=None, kind="stable"):
        i, j = divmod(flat, scores.shape[1])
        if rows[i] < k and cols[j] < c:
            taken[i, j], rows[i], cols[j] = True, rows[i] + 1, cols[j] + 1
    return taken


@pytest.fixture
def scores() -> torch.Tensor:
    return torch.rand(30, 20, generator=torch.Generator().manual_seed(3), dtype=torch.float64)


def test_greedy_equals_a_plain_loop_and_respects_caps(scores):
    taken = greedy(scores, 4, 3, "ub", torch.Generator().manual_seed(0))
    assert np.array_equal(taken, plain_greedy(scores.numpy(), 4, 3))
    assert taken.sum(1).max() <= 4 and taken.sum(0).max() <= 3


def test_greedy_min_exposure_reaches_every_item(scores):
    taken = greedy(scores, 2, 2, "lb", torch.Generator().manual_seed(0))
    assert taken.sum(0).min() >= 2 and taken.sum(1).max() <= 2


def test_dual_meets_caps_near_the_lp_optimum(scores):
    s = scores.numpy()
    pi = (
        Dual(4, 3, "ub", epochs=60, min_epsilon=1e-6)
        .fit(scores, torch.Generator())
        .transform(scores)
    )
    assert pi.sum(1).max() <= 4 + 1e-3 and pi.sum(0).max() <= 3 + 0.05
    assert (s * pi).sum() >= 0.97 * lp_optimum(s, 4, 3)
    assert (s * pi).sum() >= (s * plain_greedy(s, 4, 3)).sum() - 1e-6


def test_mult_maps_to_exposure_floor_or_user_cap():
    assert constraints(0.5, 10, 4) == (10, 2.0, "lb")
    assert constraints(3, 10, 4) == (30, 4, "ub")


@pytest.mark.parametrize("seed", [0, 1])
def test_dual_meets_item_caps_on_skewed_scores_at_the_cpu_schedule(seed):
    # the shape where the Dual ended above its item caps (1.5x here, 9x on ml-latest-small)
    # while its item prices started at -U(0, 1) instead of upstream's +U(0, 1):
    # 20 epochs of ε from 1 to 1e-10, as the cpu profile runs it, against the exact LP optimum
    scores = skewed_scores(24, 90, seed)
    s = (scores / scores.max()).numpy()
    k, c, kind = constraints(1, 6, 2)
    pi = Dual(k, c, kind, 20, 1e-10).fit(scores, torch.Generator().manual_seed(0)).transform(scores)
    found = exposures(pi, k, c, kind)
    assert found["item_cap_ratio"] <= 1.01 and found["items_over_cap"] == 0
    assert found["user_cap_ratio"] <= 1.01
    # near the LP optimum (greedy reaches 0.997-0.9998 of it on these two; the dual 0.984-1.0)
    assert (s * pi).sum() >= 0.98 * lp_optimum(s, k, c)


def test_exposures_measure_distance_to_caps_and_floors():
    taken = np.array([[1, 1, 0], [1, 1, 0], [1, 0, 0]], dtype=float)
    ub = exposures(taken, 2, 2, "ub")  # item 0 has 3 users against a cap of 2
    assert ub["item_cap_ratio"] == 1.5 and ub["items_over_cap"] == pytest.approx(1 / 3)
    assert ub["user_cap_ratio"] == 1.0 and ub["users_over_cap"] == 0
    lb = exposures(taken, 2, 1, "lb")  # item 2 has no user against a floor of 1
    assert lb["item_floor_ratio"] == 0 and lb["items_under_floor"] == pytest.approx(1 / 3)
    assert "item_cap_ratio" not in lb


def test_paper_schedule_misses_item_floors_that_the_lp_meets():
    # A known limitation, shared with upstream's update (README "The Dual's constraints"): under
    # floors (mult < 1) one row and one column solve per ε level do not converge. At the paper's
    # 100 epochs items end below the floor although the exact LP meets it (its value, above the
    # LP's, is that of an infeasible point); at 20 epochs the floor is met, short of the optimum.
    scores = skewed_scores(40, 100, 0)
    s = (scores / scores.max()).numpy()
    k, c, kind = constraints(0.5, 6, 4)
    best = lp_optimum(s, k, c, "lb")  # asserts the LP is feasible and solved
    fits = {
        epochs: Dual(k, c, kind, epochs, 1e-10)
        .fit(scores, torch.Generator().manual_seed(0))
        .transform(scores)
        for epochs in (20, 100)
    }
    paper, cpu = (exposures(fits[e], k, c, kind) for e in (100, 20))
    assert paper["items_under_floor"] > 0.1 and (s * fits[100]).sum() > best
    assert cpu["items_under_floor"] == 0 and (s * fits[20]).sum() < 0.9 * best


# dual_stop=last_feasible (README "The Dual's constraints"): on these instances it reached
# 0.941-0.952 of the exact LP optimum at 100 epochs (greedy: 0.958-0.9998), hence 0.93
LAST_FEASIBLE_OF_LP = 0.93


def fit_both(scores: torch.Tensor, k: float, c: float, kind: str, epochs: int) -> dict:
    """Dual at ``epochs`` with each stop rule: (Dual, π) by rule, same seed."""
    fits = {}
    for stop in ("anneal", "last_feasible"):
        dual = Dual(k, c, kind, epochs, 1e-10, stop).fit(scores, torch.Generator().manual_seed(0))
        fits[stop] = dual, dual.transform(scores)
    return fits


@pytest.mark.parametrize(
    ("shape", "seed", "mult", "k1", "c1", "violation"),
    [
        # the instance of test_paper_schedule_misses_item_floors_that_the_lp_meets (and seed 1):
        # anneal leaves 28 % / 15 % of items below the floor; last_feasible keeps epoch 28 / 26
        ((40, 100), 0, 0.5, 6, 4, "items_under_floor"),
        ((40, 100), 1, 0.5, 6, 4, "items_under_floor"),
        # the smallest skewed shape found where 100 epochs end above the item cap (0.6 % of
        # items, 1.05x; on ml-latest-small 10 %, 1.75x); last_feasible keeps epoch 31
        ((50, 500), 1, 1, 10, 2, "items_over_cap"),
    ],
)
def test_last_feasible_meets_the_constraints_the_paper_schedule_misses(
    shape, seed, mult, k1, c1, violation
):
    scores = skewed_scores(*shape, seed)
    s = (scores / scores.max()).numpy()
    k, c, kind = constraints(mult, k1, c1)
    fits = fit_both(scores, k, c, kind, 100)
    assert exposures(fits["anneal"][1], k, c, kind)[violation] > 0
    dual, pi = fits["last_feasible"]
    found = exposures(pi, k, c, kind)
    assert found[violation] == 0 and found["users_over_cap"] == 0
    assert dual.feasible and 0 < dual.stop_epoch < 100
    assert (s * pi).sum() >= LAST_FEASIBLE_OF_LP * lp_optimum(s, k, c, kind)
    if kind == "lb":  # and above the feasible 20-epoch anneal (0.864 / 0.928 of the LP)
        cpu = Dual(k, c, kind, 20, 1e-10).fit(scores, torch.Generator().manual_seed(0))
        assert (s * pi).sum() > (s * cpu.transform(scores)).sum()


def test_last_feasible_changes_nothing_when_the_final_epoch_is_feasible(scores):
    fits = fit_both(scores, 4, 3, "ub", 60)
    assert fits["last_feasible"][0].stop_epoch == 60 and fits["last_feasible"][0].feasible
    assert np.array_equal(fits["anneal"][1], fits["last_feasible"][1])


def test_last_feasible_falls_back_to_the_final_prices_and_says_so():
    # floors no assignment can meet: 10 items x 2 users > 5 users x 1 item
    scores = torch.rand(5, 10, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    fits = fit_both(scores, 1, 2, "lb", 30)
    dual = fits["last_feasible"][0]
    assert not dual.feasible and dual.stop_epoch == 30
    assert np.array_equal(fits["anneal"][1], fits["last_feasible"][1])


def test_dual_stop_is_an_opt_in_option_checked_by_the_schema():
    rim = ("method=rim", "dataset=rim-synthetic")
    # absent = anneal, so the default runs keep their cell keys
    assert "dual_stop" not in composed(*rim).method.matching
    schema.check(composed(*rim, "+method.matching.dual_stop=last_feasible"))
    message = "method.matching.dual_stop='last': choose one of anneal, last_feasible"
    with pytest.raises(UserError, match=re.escape(message)):
        schema.check(composed(*rim, "+method.matching.dual_stop=last"))
