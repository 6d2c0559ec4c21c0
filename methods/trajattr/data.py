"""Loaders: ETH/UCY (Social-GAN leave-one-scene-out layout) and the SportVU rebound sample.

Each text file is one scene. A scene becomes a dense ``[T, A, 2]`` array of positions (NaN where
an agent is absent) on the dataset's own time grid (ETH/UCY: frame step 10 = 0.4 s; SportVU
sample: step 12 raw frames), plus which agents may be prediction targets (SportVU: players, not
the ball, which is a neighbour only, as in SocialVAE).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from iclr.cli.errors import UserError


@dataclass
class Scene:
    """One recording: positions ``[T, A, 2]`` (NaN = absent) and target eligibility ``[A]``."""

    name: str
    positions: np.ndarray
    is_target: np.ndarray


@dataclass
class TrajData:
    """The scenes of each split (``train``, ``val`` — possibly empty — and ``test``)."""

    splits: dict[str, list[Scene]]
    dt: float
    unit: str
    stats: dict[str, float] = field(default_factory=dict)


def read_scene(path: Path, frame_step: int) -> Scene:
    """Parse one whitespace-separated file (frame, agent, x, y[, group]) into a dense scene."""
    import pandas as pd

    frame = pd.read_csv(path, sep=r"\s+", header=None)
    if frame.shape[1] not in (4, 5):
        raise UserError(
            f"{path}: expected 4 or 5 columns (frame id x y [group]), got {frame.shape[1]}"
        )
    steps = np.rint((frame[0].to_numpy(float) - frame[0].min()) / frame_step).astype(np.int64)
    agents, agent_index = np.unique(frame[1].to_numpy(), return_inverse=True)
    positions = np.full((int(steps.max()) + 1, len(agents), 2), np.nan, dtype=np.float32)
    positions[steps, agent_index] = frame[[2, 3]].to_numpy(np.float32)
    if frame.shape[1] == 5:  # SportVU: group PLAYER / BALL; the ball is never a target
        group = frame[4].to_numpy()
        is_target = np.zeros(len(agents), dtype=bool)
        is_target[agent_index[group == "PLAYER"]] = True
    else:
        is_target = np.ones(len(agents), dtype=bool)
    return Scene(path.stem, positions, is_target)


def _read_folder(folder: Path, frame_step: int, limit: int | None = None) -> list[Scene]:
    files = sorted(folder.glob("*.txt"))
    if limit is not None:
        files = files[: int(limit)]
    return [read_scene(p, frame_step) for p in files]


def load(dataset_cfg: Any, folder: Path) -> TrajData:
    """The scenes of ``dataset_cfg`` under ``folder`` (the dataset's folder in the data root).

    ``layout: eth_ucy`` reads ``<fold>/{train,val,test}/*.txt`` (the held-out scene is the fold's
    test split); ``layout: sportvu`` reads ``rebound/{train,test}/*.txt`` (no validation split).
    ``max_scenes`` (optional, per split) keeps the first files only (smoke profiles).
    """
    layout = str(dataset_cfg.layout)
    limit = dataset_cfg.get("max_scenes")
    step = int(dataset_cfg.frame_step)
    if layout == "eth_ucy":
        root = folder / str(dataset_cfg.fold)
        names = ("train", "val", "test")
    else:  # sportvu
        root = folder / str(dataset_cfg.get("subset", "rebound"))
        names = ("train", "test")
    if not (root / "test").is_dir():
        raise UserError(
            f"{root}/test not found: run `iclr data fetch {dataset_cfg.name}` "
            "(or set ICLR_DATA_MIRROR to a folder holding it)"
        )
    splits = {name: _read_folder(root / name, step, limit) for name in names}
    splits.setdefault("val", [])
    return TrajData(splits, float(dataset_cfg.dt), str(dataset_cfg.unit))
