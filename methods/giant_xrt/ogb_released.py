"""ogbn-arxiv with the released GIANT-XRT node features (the paper's headline setting).

The official pipeline publishes its final features: ``X.all.xrt-emb.npy`` inside
``https://archive.org/download/pecos-dataset/giant-xrt/ogbn-arxiv.tar.gz`` (one row per OGB node
id, in node order: ``X.all.txt`` is written in that order by ``proc_data_xrt.py``, and
``OGB_baselines/ogbn-arxiv/mlp.py`` replaces ``data.x`` by it as is). With OGB's ``arxiv.zip``
(graph, labels, time split) beside it, the official downstream models (``giant_xrt_ogb``) can
be evaluated on CPU without fine-tuning anything.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

EMBEDDING = "X.all.xrt-emb.npy"


def load(dataset_cfg: Any, folder: Path) -> Any:
    """PyG ``Data``: x = the released embedding, OGB's undirected graph and time split."""
    import torch
    from torch_geometric.data import Data

    from iclr.cli.errors import UserError
    from iclr.methods.giant_xrt.citeseer_tag import undirected_edges
    from iclr.methods.giant_xrt.ogbn_arxiv import read_ogb_graph, split_masks

    ogb = read_ogb_graph(folder)
    labels = ogb["labels"].astype(np.int64)
    x = np.load(folder / str(dataset_cfg.get("embedding", EMBEDDING)), mmap_mode="r")
    if x.ndim != 2 or x.shape[0] != labels.size:
        raise UserError(
            f"{folder / EMBEDDING}: expected one row per ogbn-arxiv node ({labels.size}), got "
            f"shape {x.shape}; extract X.all.xrt-emb.npy from pecos-dataset/giant-xrt/"
            "ogbn-arxiv.tar.gz (archive.org) into this folder"
        )
    # OGB's example scripts make the citation graph symmetric (adj_t.to_symmetric()).
    edges = undirected_edges(ogb["edges"][0], ogb["edges"][1], labels.size)
    data = Data(
        x=torch.from_numpy(np.array(x, dtype=np.float32)),  # a copy: the file is memory-mapped
        y=torch.from_numpy(labels),
        edge_index=torch.from_numpy(edges.astype(np.int64)),
        num_nodes=labels.size,
    )
    data.num_classes = int(labels.max()) + 1
    for name, mask in split_masks(ogb["split"], labels.size).items():
        data[name] = mask
    return data
