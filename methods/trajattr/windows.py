"""Agent-timestep windows: every target with a full ``history`` + ``future`` at a timestep, its
neighbours (present at that timestep, within ``radius``, nearest ``max_neighbors``), padded to a
fixed slot count with a mask — the evaluation population of the official code
(``MIN_HISTORY_LENGTH = 7``, ``MIN_FUTURE_HORIZON = 12``).

All coordinates are relative to the target's current position (Trajectron++ standardises
relative to it), so models are translation invariant. A neighbour's history steps before it
appeared are filled with its first observed position (Trajectron++ sets them to 0 after
standardisation; ours keeps the edge input on the neighbour's real track).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from iclr.methods.trajattr.data import Scene


@dataclass
class Windows:
    """A batch of agent-timesteps (tensors share the first dimension)."""

    hist: torch.Tensor  # [K, H, 2] target history, relative to its current position
    fut: torch.Tensor  # [K, F, 2] ground-truth future, same frame
    nb_hist: torch.Tensor  # [K, N, H, 2] neighbour histories, same frame (0 where padded)
    nb_mask: torch.Tensor  # [K, N] True for a real neighbour
    scene: torch.Tensor  # [K] scene index within the split
    step: torch.Tensor  # [K] current timestep within the scene

    def __len__(self) -> int:
        return int(self.hist.shape[0])

    def index(self, idx: torch.Tensor | slice) -> Windows:
        """The windows at ``idx``."""
        return Windows(*(t[idx] for t in self.tensors()))

    def tensors(self) -> tuple[torch.Tensor, ...]:
        return (self.hist, self.fut, self.nb_hist, self.nb_mask, self.scene, self.step)

    @property
    def n_neighbors(self) -> torch.Tensor:
        """Real neighbours per window."""
        return self.nb_mask.sum(1)


def _backfill(track: np.ndarray) -> np.ndarray:
    """Fill leading NaN steps (axis -2) of each track with its first observed position."""
    present = ~np.isnan(track[..., 0])
    first = present.argmax(-1)
    first_pos = np.take_along_axis(track, first[..., None, None].repeat(2, -1), -2)
    return np.where(present[..., None], track, first_pos)


def scene_windows(
    scene: Scene, history: int, future: int, radius: float, max_neighbors: int, stride: int = 1
) -> dict[str, np.ndarray]:
    """Windows of one scene as numpy arrays (vectorised over targets, timesteps, neighbours)."""
    pos = scene.positions
    steps, agents = pos.shape[:2]
    length = history + future
    empty = {
        "hist": np.zeros((0, history, 2), np.float32),
        "fut": np.zeros((0, future, 2), np.float32),
        "nb_hist": np.zeros((0, max_neighbors, history, 2), np.float32),
        "nb_mask": np.zeros((0, max_neighbors), bool),
        "step": np.zeros(0, np.int64),
    }
    if steps < length:
        return empty
    present = ~np.isnan(pos[..., 0])
    # full[t0, a]: agent a present over [t0, t0 + length)
    run = np.lib.stride_tricks.sliding_window_view(present, length, axis=0).all(-1)
    run &= scene.is_target[None, :]
    start, agent = np.nonzero(run[::stride] if stride > 1 else run)
    start = start * stride
    if len(start) == 0:
        return empty
    now = start + history - 1
    track = pos[start[:, None] + np.arange(length)[None, :], agent[:, None]]  # [K, L, 2]
    origin = track[:, history - 1]  # [K, 2]
    here = pos[now]  # [K, A, 2] everyone at the current step
    dist = np.linalg.norm(here - origin[:, None], axis=-1)
    dist = np.where(np.isnan(dist), np.inf, dist)
    dist[np.arange(len(agent)), agent] = np.inf  # not its own neighbour
    order = np.argsort(dist, axis=1, kind="stable")[:, :max_neighbors]
    near = np.take_along_axis(dist, order, 1)
    mask = near <= radius
    # [K, N, H, 2] neighbour histories (absolute), then back-filled and made relative
    window = now[:, None] - history + 1 + np.arange(history)[None, :]  # [K, H]
    valid_t = window >= 0
    nb = pos[np.clip(window, 0, None)[:, None, :], order[:, :, None]]  # [K, N, H, 2]
    nb = np.where(valid_t[:, None, :, None], nb, np.nan)
    nb = _backfill(nb) - origin[:, None, None]
    nb = np.where(mask[..., None, None], np.nan_to_num(nb), 0.0)
    if order.shape[1] < max_neighbors:  # fewer agents than slots in this scene
        pad = max_neighbors - order.shape[1]
        nb = np.pad(nb, ((0, 0), (0, pad), (0, 0), (0, 0)))
        mask = np.pad(mask, ((0, 0), (0, pad)))
    rel = track - origin[:, None]
    return {
        "hist": rel[:, :history].astype(np.float32),
        "fut": rel[:, history:].astype(np.float32),
        "nb_hist": nb.astype(np.float32),
        "nb_mask": mask,
        "step": now.astype(np.int64),
    }


def build_windows(
    scenes: list[Scene],
    history: int,
    future: int,
    radius: float,
    max_neighbors: int,
    stride: int = 1,
) -> Windows:
    """All windows of a split; neighbour slots trimmed to the largest real count (≥ 1)."""
    parts = [scene_windows(s, history, future, radius, max_neighbors, stride) for s in scenes]
    if not parts:  # an empty split (SportVU has no validation scenes)
        parts = [
            scene_windows(
                Scene("", np.zeros((0, 0, 2)), np.zeros(0, bool)),
                history,
                future,
                radius,
                max_neighbors,
            )
        ]
    scene_id = np.concatenate([np.full(len(p["step"]), i) for i, p in enumerate(parts)])
    cat = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    slots = max(1, int(cat["nb_mask"].sum(1).max())) if len(cat["step"]) else 1
    return Windows(
        torch.from_numpy(cat["hist"]),
        torch.from_numpy(cat["fut"]),
        torch.from_numpy(np.ascontiguousarray(cat["nb_hist"][:, :slots])),
        torch.from_numpy(np.ascontiguousarray(cat["nb_mask"][:, :slots])),
        torch.from_numpy(scene_id.astype(np.int64)),
        torch.from_numpy(cat["step"]),
    )


def random_agents(pool: Windows, count: int, generator: torch.Generator) -> torch.Tensor:
    """``count`` histories ``[count, H, 2]`` of random real neighbours of random pool windows
    (another scene or time, in that window's target frame): the paper's "random agent",
    placed where real neighbours are found relative to a target."""
    rows, cols = torch.nonzero(pool.nb_mask, as_tuple=True)
    if len(rows) == 0:  # no neighbours anywhere: use other targets' histories
        pick = torch.randint(len(pool), (count,), generator=generator)
        return pool.hist[pick]
    pick = torch.randint(len(rows), (count,), generator=generator)
    return pool.nb_hist[rows[pick], cols[pick]]


def random_pasts(pool: Windows, count: int, generator: torch.Generator) -> torch.Tensor:
    """``count`` target histories from random pool windows (replacement removal of the past)."""
    return pool.hist[torch.randint(len(pool), (count,), generator=generator)]
