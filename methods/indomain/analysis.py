"""The paper's two analyses beyond the headline R².

- Modularity: test images where EXACTLY ONE factor is out of distribution (interpolation,
  extrapolation); per-factor R² on each such subset — are the in-distribution factors still
  predicted well when one factor is OOD?
- Collapse: on the subset where factor f alone is OOD, do predictions of f move towards the
  true OOD value or stay at values seen in training? With n(t) the training value nearest to
  the true value t: ``gap_closed = Σ (pred - n(t))·sign(t - n(t)) / Σ |t - n(t)|`` (1 = correct,
  0 = stuck at the nearest training value, < 0 = pulled further inside) and
  ``closer_to_train`` = share of predictions nearer to some training value than to t.
"""

from __future__ import annotations

import numpy as np

from iclr.methods.indomain.factors import FactorSpec
from iclr.methods.indomain.metrics import factor_key, grid_variance, r_squared
from iclr.methods.indomain.splits import ood_flags


def one_ood_subsets(
    labels: np.ndarray, ood_values: tuple[np.ndarray, ...]
) -> dict[int, np.ndarray]:
    """Per factor with OOD values, the test rows where it is the ONLY OOD factor."""
    flags = ood_flags(labels, ood_values)
    exactly_one = flags.sum(axis=1) == 1
    return {
        f: np.flatnonzero(exactly_one & flags[:, f])
        for f, values in enumerate(ood_values)
        if len(values)
    }


def modularity(
    pred: np.ndarray, targets: np.ndarray, labels: np.ndarray, spec: FactorSpec, ood_values
) -> tuple[dict[str, float], list[dict]]:
    """Metrics ``ood_<f>/r2_ood``, ``ood_<f>/r2_others``, ``ood_<f>/n`` and per-factor rows."""
    variance = grid_variance(spec)
    metrics, rows = {}, []
    for f, subset in one_ood_subsets(labels, ood_values).items():
        if len(subset) == 0:
            continue
        r2 = r_squared(pred[subset], targets[subset], variance)
        key = f"ood_{factor_key(spec.names[f])}"
        metrics[f"{key}/r2_ood"] = float(r2[f])
        metrics[f"{key}/r2_others"] = float(np.delete(r2, f).mean())
        metrics[f"{key}/n"] = float(len(subset))
        rows += [
            {"subset": key, "factor": spec.names[g], "r2": float(r2[g]), "n": len(subset)}
            for g in range(len(spec.names))
        ]
    if rows:
        metrics["modularity/r2_ood"] = float(
            np.mean([v for k, v in metrics.items() if k.endswith("/r2_ood")])
        )
        metrics["modularity/r2_others"] = float(
            np.mean([v for k, v in metrics.items() if k.endswith("/r2_others")])
        )
    return metrics, rows


def collapse(
    pred: np.ndarray, targets: np.ndarray, labels: np.ndarray, spec: FactorSpec, ood_values
) -> tuple[dict[str, float], dict[int, tuple[np.ndarray, np.ndarray]]]:
    """``collapse_<f>/gap_closed`` and ``/closer_to_train`` per OOD factor, their means, and the
    (true, predicted) pairs per factor for the plot."""
    metrics, pairs = {}, {}
    for f, subset in one_ood_subsets(labels, ood_values).items():
        if len(subset) == 0:
            continue
        axis = spec.value_axes()[f]
        train_values = np.delete(axis, ood_values[f])
        t, p = targets[subset, f].astype(float), pred[subset, f].astype(float)
        nearest = train_values[np.abs(t[:, None] - train_values[None]).argmin(axis=1)]
        gap = np.abs(t - nearest)
        closed = np.sum((p - nearest) * np.sign(t - nearest)) / gap.sum()
        to_train = np.abs(p[:, None] - train_values[None]).min(axis=1)
        key = f"collapse_{factor_key(spec.names[f])}"
        metrics[f"{key}/gap_closed"] = float(closed)
        metrics[f"{key}/closer_to_train"] = float(np.mean(to_train < np.abs(p - t)))
        pairs[f] = (t, p)
    if pairs:
        for name in ("gap_closed", "closer_to_train"):
            values = [v for k, v in metrics.items() if k.endswith(f"/{name}")]
            metrics[f"collapse/{name}"] = float(np.mean(values))
    return metrics, pairs
