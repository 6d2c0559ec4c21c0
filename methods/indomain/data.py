"""Datasets of the benchmark: the procedural grids (rendered on demand) and the official
Zenodo split files, behind one interface: ``load(...).split(variant) -> SplitData``.

Manifest loader: ``iclr.methods.indomain.data:load`` (``data/sources/indomain.yaml``). The
dataset config's ``kind`` selects ``dsprites_like`` / ``shapes3d_like`` (generated, ``files: {}``;
caches go into the dataset folder of the data root) or ``official`` (the pre-split
``{name}_{variant}_{train|test}_{images|labels}.npz`` files, array ``arr_0``, channel-first
images, integer factor labels; our own reader, since the official one imports torchvision).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from iclr.cli.errors import UserError
from iclr.methods.indomain.factors import DSPRITES, SHAPES3D, FactorSpec, get_spec
from iclr.methods.indomain.splits import make_split


@dataclass
class Part:
    """The train or test part of a split: integer labels and an image getter by row."""

    labels: np.ndarray  # (N, F) factor indices
    images: Callable[[np.ndarray], np.ndarray]  # rows -> (n, C, H, W) uint8

    def __len__(self) -> int:
        return len(self.labels)


@dataclass
class SplitData:
    """One split of one dataset, with each factor's OOD values (values absent from train)."""

    spec: FactorSpec
    variant: str
    train: Part
    test: Part
    ood_values: tuple[np.ndarray, ...]
    label: str


class GeneratedGrid:
    """A procedurally rendered grid: every split is re-derived from the factor indices."""

    def __init__(self, spec: FactorSpec, images: Callable[[np.ndarray], np.ndarray], label: str):
        self.spec, self._images, self.label = spec, images, label

    def split(self, variant: str) -> SplitData:
        """The ``variant`` split of the full grid (images rendered when asked for)."""
        grid = make_split(self.spec, variant)
        train_idx, test_idx = grid.train_indices, grid.test_indices

        def part(flat: np.ndarray) -> Part:
            return Part(self.spec.unravel(flat), lambda rows: self._images(flat[rows]))

        return SplitData(
            self.spec, variant, part(train_idx), part(test_idx), grid.ood_values, self.label
        )


class OfficialSplits:
    """The official pre-split .npz files of one dataset in ``folder``."""

    def __init__(self, spec: FactorSpec, folder: Path, label: str) -> None:
        self.spec, self.folder, self.label = spec, Path(folder), label

    def _array(self, variant: str, mode: str, what: str) -> np.ndarray:
        path = self.folder / f"{self.spec.name}_{variant}_{mode}_{what}.npz"
        if not path.is_file():
            raise UserError(
                f"{path} is missing: download it from Zenodo (see data/sources/indomain.yaml) "
                f"into {self.folder}"
            )
        return np.load(path, encoding="latin1", allow_pickle=True)["arr_0"]

    def split(self, variant: str) -> SplitData:
        """The files' train/test arrays; OOD values = values that occur in test only."""
        parts = {}
        for mode in ("train", "test"):
            images = _as_uint8(self._array(variant, mode, "images"))
            labels = self._array(variant, mode, "labels").astype(np.int64)
            if images.ndim == 3:
                images = images[:, None]
            parts[mode] = Part(labels, lambda rows, images=images: images[rows])
        ood = tuple(
            np.setdiff1d(np.unique(parts["test"].labels[:, f]), parts["train"].labels[:, f])
            for f in range(len(self.spec.sizes))
        )
        return SplitData(self.spec, variant, parts["train"], parts["test"], ood, self.label)


def _as_uint8(images: np.ndarray) -> np.ndarray:
    """uint8 images with 1 = white for binary {0, 1} data, else 0..255 as stored."""
    if images.dtype == np.uint8:
        return images
    images = np.asarray(images, dtype=np.float32)
    return np.clip(images * (255 if images.max() <= 1 else 1), 0, 255).astype(np.uint8)


def load(dataset_cfg: Any, folder: Path) -> GeneratedGrid | OfficialSplits:
    """Manifest loader: the grid or official files named by ``dataset_cfg.kind``."""
    kind = str(dataset_cfg.kind)
    if kind == "dsprites_like":
        from iclr.methods.indomain.cache import PackedGridCache

        cache = PackedGridCache(folder)
        return GeneratedGrid(DSPRITES, cache.images, "dSprites-like (re-rendered)")
    if kind == "shapes3d_like":
        from iclr.methods.indomain.render_shapes3d import Shapes3DRenderer

        renderer = Shapes3DRenderer(folder)
        return GeneratedGrid(SHAPES3D, renderer.images, "Shapes3D-like (procedural)")
    spec = get_spec(str(dataset_cfg.grid))  # official
    return OfficialSplits(spec, folder, f"{spec.name} (official Zenodo split files)")


def load_grid(cfg: Any) -> GeneratedGrid | OfficialSplits:
    """The dataset of a job config through the manifest (``iclr.data.load_dataset``).

    While the per-paper manifest (``data/sources/<paper>.yaml``) has not landed, a generated
    dataset unknown to the manifest is built directly in ``<data_dir>/<dataset.folder>``.
    """
    from iclr.data import load_dataset
    from iclr.data.registry import sources

    if cfg.dataset.name in sources() or str(cfg.dataset.kind) == "official":
        return load_dataset(cfg.dataset, cfg.paths.data_dir, cfg.paths.mirror)
    return load(cfg.dataset, Path(cfg.paths.data_dir) / str(cfg.dataset.folder))
