"""The benchmark's score: per-factor R² against the variance over the FULL factor grid.

Official ``evaluate_model.RSquared(all_targets)``: ``Var_f = mean((t - mean(t))²)`` over every
combination of the Cartesian grid (normalised targets, ddof 0), then ``R²_f = 1 - MSE_f /
Var_f`` on the test predictions, and the headline ``rsquared`` is the plain mean over factors
(categorical included). sklearn's ``r2_score`` divides by the test split's own variance instead,
which differs on every split but the full grid.
"""

from __future__ import annotations

import numpy as np

from iclr.methods.indomain.factors import FactorSpec


def grid_variance(spec: FactorSpec) -> np.ndarray:
    """Per factor, the variance of the normalised targets over the full Cartesian grid.

    Each factor is uniform over its values in a Cartesian grid, so the grid variance equals the
    variance of ``arange(n) / (n - 1)`` (closed form ``(n + 1) / (12 (n - 1))``).
    """
    return np.array([np.mean((v - v.mean()) ** 2) for v in spec.value_axes()])


def r_squared(predictions: np.ndarray, targets: np.ndarray, variance: np.ndarray) -> np.ndarray:
    """Per-factor ``1 - MSE_f / Var_f`` (``variance`` = :func:`grid_variance`)."""
    if predictions.shape != targets.shape:
        raise ValueError(f"predictions {predictions.shape} and targets {targets.shape} differ")
    mse = np.mean((np.asarray(predictions, float) - np.asarray(targets, float)) ** 2, axis=0)
    return 1 - mse / variance


def scores(
    predictions: np.ndarray, targets: np.ndarray, spec: FactorSpec, prefix: str = ""
) -> dict[str, float]:
    """The official score dict: ``rsquared`` (mean), ``mse``, ``rsquared_<f>``, ``mse_<f>``,
    plus ``rsquared_noncat`` (mean over non-categorical factors), keys under ``prefix``."""
    r2 = r_squared(predictions, targets, grid_variance(spec))
    mse = np.mean((predictions - targets) ** 2, axis=0)
    out = {f"{prefix}r2": float(r2.mean()), f"{prefix}mse": float(mse.mean())}
    continuous = ~np.asarray(spec.categorical)
    out[f"{prefix}r2_noncat"] = float(r2[continuous].mean())
    for name, r, m in zip(spec.names, r2, mse, strict=True):
        key = factor_key(name)
        out[f"{prefix}r2_{key}"] = float(r)
        out[f"{prefix}mse_{key}"] = float(m)
    return out


def factor_key(name: str) -> str:
    """Metric-safe factor name (``x-position`` stays, spaces become underscores)."""
    return name.replace(" ", "_")
