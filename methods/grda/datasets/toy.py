"""GRDA's toy domain-graph datasets: DG-15 and DG-60 (official pickles) and a seeded generator.

Each domain is an angle a on a spiral: class 0 is a unit blob around +r(a)(cos a, sin a), class 1
around the mirror point; domains are linked with probability cos(a_i - a_j) (none below 0.2).
The generator follows that published procedure (GRDA's ``dataset_generator``, re-implemented,
not copied); the official files were drawn without a fixed seed, so it reproduces their
statistics, not their bytes. Table cells use the official files.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np

from iclr.methods.grda.datasets.domain_graph import DomainGraphData, zscore


def _read_pickle(path: Path) -> Any:
    with path.open("rb") as handle:
        return pickle.load(handle)


def from_arrays(raw: dict[str, np.ndarray], sources: list[int], g_encode: Any = None):
    """Build the normalised dataset from a GRDA toy dict (``data``, ``label``, ``domain``, ``A``).

    ``g_encode`` is GRDA's dict ``'0'..'D-1' -> vector`` of pretrained domain embeddings.
    """
    adjacency = np.asarray(raw["A"], dtype=np.float32)
    num_domains = adjacency.shape[0]
    if g_encode is not None:
        g_encode = np.stack([np.asarray(g_encode[str(d)]) for d in range(num_domains)])
    return DomainGraphData(
        x=zscore(np.asarray(raw["data"], dtype=np.float64)),
        y=np.asarray(raw["label"], dtype=np.int64),
        domain=np.asarray(raw["domain"], dtype=np.int64),
        adjacency=adjacency,
        sources=[int(s) for s in sources],
        task="classification",
        num_classes=2,
        g_encode=None if g_encode is None else g_encode.astype(np.float32),
        domain_names=[str(d) for d in range(num_domains)],
    )


def load(dataset_cfg: Any, folder: Path) -> DomainGraphData:
    """DG-15 / DG-60 from the official pickles in ``folder`` (sources from the config)."""
    raw = _read_pickle(folder / dataset_cfg.data_file)
    g_encode = _read_pickle(folder / dataset_cfg.g_encode_file)
    return from_arrays(raw, list(dataset_cfg.sources), g_encode)


def generate_spiral(
    num_domains: int,
    seed: int,
    points_per_class: int = 50,
    radius_start: float = 1.0,
    radius_growth: float = 6.0,
    min_edge_cos: float = 0.2,
) -> dict[str, np.ndarray]:
    """Draw a toy domain-graph dataset in GRDA's format (DG-60 constants by default).

    Angles a ~ U(0, 2π); r = radius_start + radius_growth·a/(2π). Each class blob is N(0, I)
    truncated to the unit disc (rejection sampling, vectorised over all domains at once).
    Edge i–j with probability cos(a_i - a_j), never when that is below ``min_edge_cos``.
    """
    rng = np.random.default_rng(seed)
    angle = rng.uniform(0.0, 2 * np.pi, num_domains)
    radius = radius_start + radius_growth * angle / (2 * np.pi)
    centre = radius[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)  # (D, 2)
    # Enough candidates that every (domain, class) keeps `points_per_class` inside the disc
    # (acceptance ≈ 39%; 8× oversampling fails with negligible probability, checked below).
    draws = rng.standard_normal((num_domains, 2, 8 * points_per_class, 2))
    inside = np.linalg.norm(draws, axis=-1) <= 1.0
    if (inside.sum(-1) < points_per_class).any():
        raise RuntimeError("rejection sampling ran short; use another seed")
    # Stable argsort puts accepted draws first, in draw order.
    first = np.argsort(~inside, axis=-1, kind="stable")[..., :points_per_class]
    noise = np.take_along_axis(draws, first[..., None], axis=2)  # (D, 2, P, 2)
    sign = np.array([1.0, -1.0])[None, :, None, None]
    points = sign * centre[:, None, None, :] + noise
    cos = np.cos(angle[:, None] - angle[None, :])
    coin = rng.uniform(size=(num_domains, num_domains))
    upper = np.triu((cos >= min_edge_cos) & (coin < cos), k=1)
    adjacency = (upper | upper.T).astype(np.float64)
    labels = np.broadcast_to(np.arange(2)[None, :, None], (num_domains, 2, points_per_class))
    domains = np.broadcast_to(np.arange(num_domains)[:, None, None], labels.shape)
    return {
        "data": points.reshape(-1, 2),
        "label": labels.reshape(-1).copy(),
        "domain": domains.reshape(-1).copy(),
        "A": adjacency,
        "angle": angle,
    }


def load_generated(dataset_cfg: Any, folder: Path) -> DomainGraphData:
    """A freshly generated toy graph (``dg_synthetic``): no files, no pretrained embeddings."""
    raw = generate_spiral(int(dataset_cfg.num_domains), int(dataset_cfg.generator_seed))
    return from_arrays(raw, list(dataset_cfg.sources))
