"""Planetoid citation graphs (Cora, CiteSeer, PubMed) through PyTorch Geometric."""

from __future__ import annotations

from pathlib import Path
from typing import Any

# PyG's folder names are case-sensitive ("CiteSeer", not "Citeseer").
PYG_NAMES = {"cora": "Cora", "citeseer": "CiteSeer", "pubmed": "PubMed"}


def load(dataset_cfg: Any, folder: Path) -> Any:
    """Load a Planetoid graph from ``<data root>/planetoid/<Name>/raw`` as a PyG ``Data``.

    ``folder`` is the dataset folder (its ``raw/`` files already checked); PyG writes its
    ``processed/`` cache next to ``raw/``. Features are row-normalised when
    ``dataset_cfg.normalize_features`` is set, as in Kipf & Welling (2017).
    """
    import torch_geometric.transforms as T
    from torch_geometric.datasets import Planetoid

    transform = T.NormalizeFeatures() if dataset_cfg.get("normalize_features", True) else None
    dataset = Planetoid(
        root=str(folder.parent),
        name=PYG_NAMES[dataset_cfg.name],
        split=dataset_cfg.get("split", "public"),
        transform=transform,
    )
    data = dataset[0]
    data.num_classes = dataset.num_classes
    return data
