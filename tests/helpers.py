"""Shared test constants: where the offline data mirror is and markers that depend on it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
MIRROR = Path(os.environ.get("ICLR_DATA_MIRROR", REPO.parent / "shared" / "datasets")).resolve()


def mirror_has(folder: str) -> bool:
    """True when the shared mirror holds ``folder`` (e.g. ``planetoid/Cora``)."""
    return (MIRROR / folder).is_dir()


needs_planetoid = pytest.mark.skipif(
    not mirror_has("planetoid/Cora"), reason=f"Planetoid mirror not found at {MIRROR}"
)


needs_citeseer_tag = pytest.mark.skipif(
    not mirror_has("citeseer-tag"), reason=f"CiteSeer-TAG mirror not found at {MIRROR}"
)


def composed(*overrides: str):
    """The composed job config for GCN on Cora plus ``overrides`` (Hydra's Compose API)."""
    from iclr.cli.compose import compose_config

    return compose_config(["method=gcn", "dataset=cora", *overrides])


needs_grda_data = pytest.mark.skipif(
    not (mirror_has("dg-15") and mirror_has("tpt-48")),
    reason=f"GRDA datasets (dg-15, tpt-48) not found in the mirror at {MIRROR}",
)


# GIANT-XRT tests: a small XR label-tree setting and a seeded graph with TF-IDF-like features.
GIANT_TREE = {"max_degree": 1000, "nr_splits": 4, "max_leaf_size": 4, "seed": 0, "threads": 1}


def random_graph(n: int = 64, pairs: int = 200, seed: int = 0):
    """Undirected edges ``[2, E]`` (both directions, no self-loops) among ``n`` nodes from
    ``pairs`` random draws, and a sparse ``n × 40`` float32 feature matrix."""
    import numpy as np
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    src, dst = rng.integers(0, n, pairs), rng.integers(0, n, pairs)
    keep = src != dst
    edges = np.unique(np.concatenate([[src[keep], dst[keep]], [dst[keep], src[keep]]], 1), axis=1)
    tfidf = sp.random(n, 40, density=0.3, format="csr", random_state=seed, dtype=np.float32)
    return edges, tfidf
