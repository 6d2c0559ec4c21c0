"""Factor grids of the benchmark datasets: names, sizes, which factors are split, flat indices.

The grid order is the official loader's (``load_dataset.py``): the flat index of a factor
combination is its C-order position over ``sizes`` (last factor fastest), and targets are
``index_f / (size_f - 1)`` in [0, 1], categorical factors included.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FactorSpec:
    """The Cartesian factor grid of one dataset and its split settings."""

    name: str
    names: tuple[str, ...]
    sizes: tuple[int, ...]
    categorical: tuple[bool, ...]
    never_split: tuple[bool, ...]  # "test_and_train": all values in train and test
    ratio: float  # test ratio per factor r of the split rules
    channels: int = 1
    resolution: int = 64

    @property
    def total(self) -> int:
        """Number of images in the full grid."""
        return int(np.prod(self.sizes))

    @property
    def varying(self) -> list[int]:
        """Positions of the factors the systematic splits act on."""
        return [i for i, fixed in enumerate(self.never_split) if not fixed]

    def unravel(self, flat: np.ndarray) -> np.ndarray:
        """(N, F) integer factor indices of flat grid indices."""
        return np.stack(np.unravel_index(np.asarray(flat, dtype=np.int64), self.sizes), axis=1)

    def ravel(self, labels: np.ndarray) -> np.ndarray:
        """Flat grid indices of (N, F) integer factor indices."""
        return np.ravel_multi_index(tuple(np.asarray(labels).T), self.sizes).astype(np.int64)

    def normalise(self, labels: np.ndarray) -> np.ndarray:
        """Targets in [0, 1]: ``index / (size - 1)`` per factor (float32)."""
        return (np.asarray(labels) / (np.asarray(self.sizes) - 1)).astype(np.float32)

    def value_axes(self) -> list[np.ndarray]:
        """Per factor, the normalised values ``arange(n) / (n - 1)``."""
        return [np.arange(n) / (n - 1) for n in self.sizes]


DSPRITES = FactorSpec(
    name="dsprites",
    names=("shape", "scale", "orientation", "x-position", "y-position"),
    sizes=(3, 6, 40, 32, 32),
    categorical=(True, False, False, False, False),
    never_split=(True, False, False, False, False),
    ratio=0.2,
)

SHAPES3D = FactorSpec(
    name="shapes3d",
    names=("floor color", "wall color", "object color", "object size", "object type", "azimuth"),
    sizes=(10, 10, 10, 8, 4, 15),
    categorical=(False, False, False, False, True, False),
    never_split=(False, False, False, False, True, False),
    ratio=0.15,
    channels=3,
)

MPI3D = FactorSpec(
    name="mpi3d",
    names=("color", "shape", "size", "height", "bg color", "x-axis", "y-axis"),
    sizes=(6, 6, 2, 3, 3, 40, 40),
    categorical=(True, True, False, False, True, False, False),
    never_split=(False, True, True, False, False, False, False),
    ratio=0.1,
    channels=3,
)

CELEBGLOW = FactorSpec(
    name="celebglow",
    names=("person", "smile", "blond", "age"),
    sizes=(1000, 6, 6, 6),
    categorical=(True, False, False, False),
    never_split=(True, False, False, False),
    ratio=0.3,
    channels=3,
)

SPECS = {spec.name: spec for spec in (DSPRITES, SHAPES3D, MPI3D, CELEBGLOW)}


def get_spec(name: str) -> FactorSpec:
    """The factor grid of dsprites, shapes3d, mpi3d or celebglow (``dataset.grid``, whose
    ``options`` the schema checks)."""
    return SPECS[name]
