"""Domain-graph adaptation data (GRDA's DG-15/DG-60, TPT-48, CompCars): one container for all.

Every loader returns a :class:`DomainGraphData`: samples with their domain index, the domain
adjacency, which domains are sources, and (when shipped) pretrained domain embeddings.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class DomainGraphData:
    """Samples of several domains linked by a graph.

    ``x`` (n, dx) float32, already normalised as the paper does; ``y`` (n,) int64 class labels or
    (n, dy) float32 regression targets; ``domain`` (n,) int64 in ``0..num_domains-1``;
    ``adjacency`` (D, D) 0/1 symmetric with zero diagonal; ``sources`` the labelled domains.
    ``g_encode`` (D, k) holds pretrained domain embeddings when the dataset ships them (they
    encode the graph, so only GRDA may use them). ``levels`` (D,) is each domain's graph
    distance to the nearest source (0 for sources), for per-level reporting.
    """

    x: np.ndarray
    y: np.ndarray
    domain: np.ndarray
    adjacency: np.ndarray
    sources: list[int]
    task: str  # "classification" | "regression"
    num_classes: int = 0
    g_encode: np.ndarray | None = None
    domain_names: list[str] = field(default_factory=list)
    levels: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __post_init__(self) -> None:
        if not self.levels.size:
            self.levels = graph_levels(self.adjacency, self.sources)

    @property
    def num_domains(self) -> int:
        return int(self.adjacency.shape[0])

    @property
    def targets(self) -> list[int]:
        """The unlabelled domains, in index order."""
        source = set(self.sources)
        return [d for d in range(self.num_domains) if d not in source]


def graph_levels(adjacency: np.ndarray, sources: list[int]) -> np.ndarray:
    """Shortest-path distance (in edges) from each domain to the source set; -1 if unreachable.

    Breadth-first search as repeated boolean matrix products: frontier expansion is one
    vectorised step per distance, not a loop over nodes.
    """
    reach = adjacency.astype(bool)
    levels = np.full(adjacency.shape[0], -1, dtype=np.int64)
    frontier = np.zeros(adjacency.shape[0], dtype=bool)
    frontier[sources] = True
    levels[frontier] = 0
    distance = 0
    while frontier.any():
        distance += 1
        frontier = reach[frontier].any(axis=0) & (levels < 0)
        levels[frontier] = distance
    return levels


def zscore(
    x: np.ndarray, reference: np.ndarray | None = None, per_feature: bool = True
) -> np.ndarray:
    """Normalise with global statistics of ``reference`` (default ``x``), pooled over all domains
    as GRDA does: per feature (toy points) or one scalar (temperature series)."""
    ref = x if reference is None else reference
    axis = 0 if per_feature else None
    return ((x - ref.mean(axis)) / ref.std(axis)).astype(np.float32)
