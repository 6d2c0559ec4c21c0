"""TPT-48: monthly mean temperature of the 48 contiguous US states, states linked by adjacency.

Task (GRDA Table 2, VDI's loader rule): 6 consecutive months in, the next 6 out. Source states
give every sliding 12-month window; target states give their non-overlapping 12-month groups.
One scalar mean/std, from the source series plus the *input* halves of the target groups,
normalises inputs and outputs (MSE is reported on that scale).
"""

from __future__ import annotations

import csv
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from iclr.methods.grda.datasets.domain_graph import DomainGraphData, zscore

WINDOW, HORIZON = 6, 6


def read_graph(path: Path, states: list[str]) -> np.ndarray:
    """State adjacency from ``usa_map.txt``; edges to non-domains (DC) are dropped."""
    index = {s: i for i, s in enumerate(states)}
    adjacency = np.zeros((len(states), len(states)), dtype=np.float32)
    for line in path.read_text().split("\n"):
        pair = line.split()
        if len(pair) == 2 and pair[0] in index and pair[1] in index:
            i, j = index[pair[0]], index[pair[1]]
            adjacency[i, j] = adjacency[j, i] = 1.0
    return adjacency


def read_coordinates(path: Path) -> dict[str, tuple[float, float]]:
    """``state -> (latitude, longitude)`` (normalised) from the shipped CSV."""
    with path.open() as handle:
        return {
            row["state"]: (float(row["latitude"]), float(row["longitude"]))
            for row in csv.DictReader(handle)
        }


def source_states(dataset_cfg: Any, coordinates: dict[str, tuple[float, float]]) -> list[str]:
    """The published source list, or a derived one (``east``: the 24 largest longitudes)."""
    if dataset_cfg.get("sources"):
        return list(dataset_cfg.sources)
    # derive_sources is declared as an option in conf/dataset/tpt48_e2w.yaml (cli/schema.py)
    rank_by = {"east": lambda s: coordinates[s][1]}[dataset_cfg.derive_sources]
    ranked = sorted(coordinates, key=rank_by, reverse=True)
    return ranked[: int(dataset_cfg.num_sources)]


def windows(series: np.ndarray, stride: int) -> np.ndarray:
    """(states, months) → (states, windows, 12) with the given stride (a strided view copy)."""
    span = WINDOW + HORIZON
    starts = np.arange(0, series.shape[1] - span + 1, stride)
    return series[:, starts[:, None] + np.arange(span)[None, :]]


def load(dataset_cfg: Any, folder: Path) -> DomainGraphData:
    """TPT-48 for the split in ``dataset_cfg`` (domains = states in alphabetical order)."""
    with (folder / "month_temp_data.pkl").open("rb") as handle:
        temps = pickle.load(handle)
    states = sorted(temps)
    series = np.stack([np.asarray(temps[s], dtype=np.float64) for s in states])
    coordinates = read_coordinates(folder / "longitude-latitude-normalize.csv")
    chosen = source_states(dataset_cfg, coordinates)
    unknown = set(chosen) - set(states)
    if unknown:
        from iclr.cli.errors import UserError

        raise UserError(f"TPT-48 sources name unknown states {sorted(unknown)}; use state codes")
    sources = sorted(states.index(s) for s in chosen)
    is_source = np.isin(np.arange(len(states)), sources)
    source_windows = windows(series[is_source], stride=1)
    target_windows = windows(series[~is_source], stride=WINDOW + HORIZON)
    reference = np.concatenate([series[is_source].ravel(), target_windows[..., :WINDOW].ravel()])
    domain_ids = np.arange(len(states))
    parts = [(source_windows, domain_ids[is_source]), (target_windows, domain_ids[~is_source])]
    samples = np.concatenate([w.reshape(-1, WINDOW + HORIZON) for w, _ in parts])
    domain = np.concatenate([np.repeat(ids, w.shape[1]) for w, ids in parts])
    normalised = zscore(samples, reference, per_feature=False)
    return DomainGraphData(
        x=normalised[:, :WINDOW],
        y=normalised[:, WINDOW:],
        domain=domain.astype(np.int64),
        adjacency=read_graph(folder / "usa_map.txt", states),
        sources=sources,
        task="regression",
        domain_names=states,
    )
