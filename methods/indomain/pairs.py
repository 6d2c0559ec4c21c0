"""Transition pairs for PCL: each train image gets a partner one sparse Laplace step away.

As in the weakly supervised models of the paper (SlowVAE-style natural transitions), every
non-categorical factor moves by ``round(Laplace(0, spread·size))`` index steps (clipped to its
range), categorical factors stay. The partner must lie in the split's train region; of
``tries`` candidates per image the first valid one is kept (images without any are dropped).
"""

from __future__ import annotations

import numpy as np

from iclr.methods.indomain.factors import FactorSpec


def transition_partners(
    labels: np.ndarray,
    train_labels: np.ndarray,
    spec: FactorSpec,
    rng: np.random.Generator,
    spread: float = 0.05,
    tries: int = 10,
) -> tuple[np.ndarray, np.ndarray]:
    """(kept rows of ``labels``, their partners' rows in ``train_labels``)."""
    sizes = np.asarray(spec.sizes)
    scale = np.where(np.asarray(spec.categorical), 0.0, spread * sizes)
    steps = np.rint(rng.laplace(0.0, 1.0, (len(labels), tries, len(sizes))) * scale).astype(int)
    candidates = np.clip(labels[:, None, :] + steps, 0, sizes - 1)
    train_flat = spec.ravel(train_labels)
    order = np.argsort(train_flat)
    sorted_flat = train_flat[order]
    flat = spec.ravel(candidates.reshape(-1, len(sizes))).reshape(len(labels), tries)
    pos = np.clip(np.searchsorted(sorted_flat, flat), 0, len(sorted_flat) - 1)
    valid = sorted_flat[pos] == flat
    first = valid.argmax(axis=1)
    keep = valid.any(axis=1)
    rows = np.flatnonzero(keep)
    return rows, order[pos[rows, first[rows]]]
