"""CompCars (GRDA Table 3) from VDI's ResNet-18 feature pickle, for users who have it.

The file ``feature_resnet18_new_data.pkl`` (Wang-ML-Lab/VDI, ``CompCars/data``; not shipped,
too large for the offline mirror) holds ``data`` (n, 512) features, ``label`` (4 car types) and
``domain`` (30 = 5 viewpoints × 6 manufacturing years). The domain graph links domains that
share a viewpoint and have adjacent years, or share a year and have adjacent viewpoints; the
domain index is taken as ``viewpoint * years + year`` (our reading: GRDA's own CompCars code
and graph are not published).
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np

from iclr.methods.grda.datasets.domain_graph import DomainGraphData, zscore


def grid_graph(rows: int, cols: int) -> np.ndarray:
    """Adjacency of a rows × cols grid (4-neighbourhood), node index ``r * cols + c``."""
    r, c = np.divmod(np.arange(rows * cols), cols)
    manhattan = np.abs(r[:, None] - r[None, :]) + np.abs(c[:, None] - c[None, :])
    return (manhattan == 1).astype(np.float32)


def load(dataset_cfg: Any, folder: Path) -> DomainGraphData:
    """CompCars features with the viewpoint × year grid graph."""
    with (folder / dataset_cfg.data_file).open("rb") as handle:
        raw = pickle.load(handle)
    adjacency = grid_graph(int(dataset_cfg.viewpoints), int(dataset_cfg.years))
    return DomainGraphData(
        x=zscore(np.asarray(raw["data"], dtype=np.float64)),
        y=np.asarray(raw["label"], dtype=np.int64),
        domain=np.asarray(raw["domain"], dtype=np.int64),
        adjacency=adjacency,
        sources=[int(s) for s in dataset_cfg.sources],
        task="classification",
        num_classes=4,
    )
