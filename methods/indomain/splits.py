"""The four systematic train/test splits, defined on factor indices only.

Re-derived from the rules of the code stated to be adapted from the paper's supplementary
material (see README): they are **not** the Zenodo split files, whose index sets we could not
compare. With r the per-dataset ratio and n the number of varying (split) factors:

- extrapolation: a factor's OOD values are its top ``ceil(size·r)`` indices; an image is test if
  ANY varying factor takes an OOD value;
- interpolation: train values ``round(linspace(0, size-1, size - ceil(size·r)))``, the other
  (interior) values are OOD; test if ANY varying factor is OOD;
- composition: ``q = 1 - (1 - (1-r)^n)^(1/n)``; a factor's band is its lowest ``floor(size·q)``
  values; train if ANY varying factor is in its band, test if ALL are outside (every value is
  seen in training, unseen combinations are tested);
- random: a fixed ``RandomState(0)`` permutation of the grid with the extrapolation split's test
  share (the official tests: test/total rounds to 0.7).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from iclr.methods.indomain.factors import FactorSpec

VARIANTS = ("random", "composition", "interpolation", "extrapolation")


@dataclass(frozen=True)
class GridSplit:
    """A boolean test mask over the flat grid, and each factor's OOD values (empty if none)."""

    variant: str
    test_mask: np.ndarray
    ood_values: tuple[np.ndarray, ...]

    @property
    def train_indices(self) -> np.ndarray:
        return np.flatnonzero(~self.test_mask)

    @property
    def test_indices(self) -> np.ndarray:
        return np.flatnonzero(self.test_mask)


def extrapolation_values(size: int, ratio: float) -> np.ndarray:
    """OOD values of a factor under extrapolation: the top ``ceil(size·r)`` indices."""
    return np.arange(size - int(np.ceil(size * ratio)), size)


def interpolation_values(size: int, ratio: float) -> np.ndarray:
    """OOD values under interpolation: those not in ``round(linspace(0, size-1, kept))``."""
    kept = np.round(np.linspace(0, size - 1, size - int(np.ceil(size * ratio)))).astype(int)
    return np.setdiff1d(np.arange(size), kept)


def composition_band(size: int, ratio: float, n_varying: int) -> np.ndarray:
    """The low band of a factor under composition: the lowest ``floor(size·q)`` values."""
    q = 1 - (1 - (1 - ratio) ** n_varying) ** (1 / n_varying)
    return np.arange(int(np.floor(size * q)))


def _per_factor_membership(spec: FactorSpec, values: dict[int, np.ndarray]) -> np.ndarray:
    """(F, total) — per factor f, does each grid image's f-index lie in ``values[f]``?

    Built by broadcasting one boolean vector per factor over the grid, never per image.
    """
    out = np.zeros((len(spec.sizes), spec.total), dtype=bool)
    for f, chosen in values.items():
        member = np.zeros(spec.sizes[f], dtype=bool)
        member[chosen] = True
        shape = [1] * len(spec.sizes)
        shape[f] = spec.sizes[f]
        out[f] = np.broadcast_to(member.reshape(shape), spec.sizes).reshape(-1)
    return out


def make_split(spec: FactorSpec, variant: str) -> GridSplit:
    """The ``variant`` split of the full grid of ``spec``."""
    varying = spec.varying
    empty = tuple(np.zeros(0, dtype=int) for _ in spec.sizes)
    if variant in ("extrapolation", "interpolation"):
        rule = extrapolation_values if variant == "extrapolation" else interpolation_values
        ood = {f: rule(spec.sizes[f], spec.ratio) for f in varying}
        test = _per_factor_membership(spec, ood).any(axis=0)
        values = tuple(ood.get(f, empty[f]) for f in range(len(spec.sizes)))
        return GridSplit(variant, test, values)
    if variant == "composition":
        band = {f: composition_band(spec.sizes[f], spec.ratio, len(varying)) for f in varying}
        train = _per_factor_membership(spec, band).any(axis=0)
        return GridSplit(variant, ~train, empty)
    # random: as many test images as extrapolation holds out, drawn uniformly
    share = make_split(spec, "extrapolation").test_mask.mean()
    order = np.random.RandomState(0).permutation(spec.total)
    test = np.zeros(spec.total, dtype=bool)
    test[order[: int(round(share * spec.total))]] = True
    return GridSplit(variant, test, empty)


def ood_flags(labels: np.ndarray, ood_values: tuple[np.ndarray, ...]) -> np.ndarray:
    """(N, F) boolean: is factor f of each image at one of its OOD values?"""
    return np.stack([np.isin(labels[:, f], values) for f, values in enumerate(ood_values)], axis=1)
