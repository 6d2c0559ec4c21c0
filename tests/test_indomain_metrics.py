"""The benchmark's R²: variance over the full grid (official RSquared), not the test split."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import r2_score

from iclr.methods.indomain.factors import DSPRITES, SHAPES3D
from iclr.methods.indomain.metrics import grid_variance, r_squared, scores
from iclr.methods.indomain.splits import make_split


def official_variance(targets: np.ndarray) -> np.ndarray:
    """The kit's RSquared.__init__ over the full grid's normalised targets (brute force)."""
    return ((targets - targets.mean(axis=0, keepdims=True)) ** 2).mean(axis=0)


@pytest.mark.parametrize("spec", [DSPRITES, SHAPES3D])
def test_grid_variance_matches_brute_force_and_closed_form(spec):
    grid = spec.unravel(np.arange(spec.total)) / (np.array(spec.sizes) - 1.0)  # float64
    np.testing.assert_allclose(grid_variance(spec), official_variance(grid), rtol=1e-9)
    n = np.array(spec.sizes, dtype=float)
    np.testing.assert_allclose(grid_variance(spec), (n + 1) / (12 * (n - 1)), rtol=1e-12)


def test_r2_equals_sklearn_on_the_full_grid_but_not_on_a_split():
    rng = np.random.default_rng(0)
    grid = DSPRITES.unravel(np.arange(DSPRITES.total)) / (np.array(DSPRITES.sizes) - 1.0)
    pred = grid + rng.normal(0, 0.25, grid.shape)
    ours = r_squared(pred, grid, grid_variance(DSPRITES))
    np.testing.assert_allclose(ours, r2_score(grid, pred, multioutput="raw_values"), rtol=1e-9)
    # on the extrapolation test split the test variance differs: sklearn's value is not ours
    test = make_split(DSPRITES, "extrapolation").test_mask
    ours = r_squared(pred[test], grid[test], grid_variance(DSPRITES))
    theirs = r2_score(grid[test], pred[test], multioutput="raw_values")
    expected = 1 - np.mean((pred[test] - grid[test]) ** 2, 0) / official_variance(grid)
    np.testing.assert_allclose(ours, expected, rtol=1e-9)
    assert np.abs(ours - theirs).max() > 0.01


def test_official_test_cases_perfect_mean_and_zero():
    grid = SHAPES3D.normalise(SHAPES3D.unravel(np.arange(0, SHAPES3D.total, 7)))
    variance = grid_variance(SHAPES3D)
    np.testing.assert_allclose(r_squared(grid, grid, variance), 1.0)
    mean = np.broadcast_to(grid.mean(0), grid.shape)
    np.testing.assert_allclose(r_squared(mean, grid, variance), 0.0, atol=2e-3)
    assert (r_squared(np.zeros_like(grid), grid, variance) < 0).all()


def test_scores_keys_and_headline_mean():
    grid = DSPRITES.normalise(DSPRITES.unravel(np.arange(0, DSPRITES.total, 11)))
    pred = grid.copy()
    pred[:, 0] = 0.5  # shape (categorical) predicted as its mean value
    out = scores(pred, grid, DSPRITES)
    assert out["r2_shape"] == pytest.approx(0.0, abs=1e-2)
    assert out["r2_x-position"] == pytest.approx(1.0)
    assert out["r2"] == pytest.approx(
        np.mean(
            [out[f"r2_{k}"] for k in ("shape", "scale", "orientation", "x-position", "y-position")]
        )
    )
    assert out["r2_noncat"] == pytest.approx(1.0)
