"""Loaders for Cold Brew's extra FCR datasets (Table 11): Geom-GCN's WebKB (Cornell, Texas,
Wisconsin), Actor and Wikipedia (Chameleon, Squirrel) graphs, read with PyTorch Geometric.

Each comes with ten fixed 60/20/20 splits (Pei et al., 2020). The official Cold Brew code picks
split ``run // 10``, i.e. split 0 for its runs 0-9, so ``dataset.geom_split`` defaults to 0 and
the loader returns that split's masks as 1-D ``train_mask`` / ``val_mask`` / ``test_mask``.
As in the official code's preprocessing, the graph is symmetrised and its self-loops removed
(PyG keeps Geom-GCN's directed WebKB edge lists as they are).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

_WEBKB = ("cornell", "texas", "wisconsin")
_WIKIPEDIA = ("chameleon", "squirrel")


def _dataset(name: str, folder: Path) -> Any:
    """The PyG dataset object of ``name`` whose raw files are in ``folder / 'raw'``."""
    from torch_geometric.datasets import Actor, WebKB, WikipediaNetwork

    if name in _WEBKB:
        return WebKB(root=str(folder.parent), name=name)
    if name in _WIKIPEDIA:
        # PyG reads <root>/<name>/geom_gcn/raw with the Geom-GCN preprocessing.
        return WikipediaNetwork(root=str(folder.parent.parent), name=name, geom_gcn_preprocess=True)
    return Actor(root=str(folder))


def load_geom_gcn(dataset_cfg: Any, folder: Path) -> Any:
    """Load a Geom-GCN graph as a PyG ``Data`` with the masks of split ``dataset_cfg.geom_split``.

    Features are row-normalised when ``dataset_cfg.normalize_features`` is set (the official
    Cold Brew code row-normalises every dataset's features).
    """
    import torch_geometric.transforms as T
    from torch_geometric.utils import remove_self_loops, to_undirected

    from iclr.cli.errors import UserError

    data = _dataset(str(dataset_cfg.name), folder)[0]
    data.edge_index = to_undirected(remove_self_loops(data.edge_index)[0], num_nodes=data.num_nodes)
    if dataset_cfg.get("normalize_features", True):
        data = T.NormalizeFeatures()(data)
    split = int(dataset_cfg.get("geom_split", 0))
    n_splits = data.train_mask.size(1)
    if not 0 <= split < n_splits:
        raise UserError(
            f"dataset.geom_split={split}: {dataset_cfg.name} has splits 0..{n_splits - 1}"
        )
    for part in ("train", "val", "test"):
        setattr(data, f"{part}_mask", getattr(data, f"{part}_mask")[:, split].clone())
    data.num_classes = int(data.y.max()) + 1
    return data


def load_ogbn_arxiv(dataset_cfg: Any, folder: Path) -> Any:
    """ogbn-arxiv with OGB's own 128-d features (Cold Brew's "Arxiv") and OGB's time split, read
    from OGB's ``arxiv.zip`` (unpacked next to it on first use); the graph is symmetrised."""
    import zipfile

    import pandas as pd
    import torch
    from torch_geometric.data import Data
    from torch_geometric.utils import remove_self_loops, to_undirected

    root = folder / "arxiv"
    if not root.is_dir():
        with zipfile.ZipFile(folder / "arxiv.zip") as archive:
            archive.extractall(folder)

    def read(path: str, **kwargs: Any) -> Any:
        return pd.read_csv(root / path, header=None, **kwargs).to_numpy()

    x = torch.as_tensor(read("raw/node-feat.csv.gz", dtype="float32"))
    y = torch.as_tensor(read("raw/node-label.csv.gz")[:, 0]).long()
    edges = torch.as_tensor(read("raw/edge.csv.gz").T).long()
    edge_index = to_undirected(remove_self_loops(edges)[0], num_nodes=y.numel())
    data = Data(x=x, y=y, edge_index=edge_index)
    for part, file in (("train", "train"), ("val", "valid"), ("test", "test")):
        mask = torch.zeros(y.numel(), dtype=torch.bool)
        mask[torch.as_tensor(read(f"split/time/{file}.csv.gz")[:, 0]).long()] = True
        setattr(data, f"{part}_mask", mask)
    data.num_classes = int(y.max()) + 1
    return data
