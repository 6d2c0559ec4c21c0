"""ogbn-arxiv with its raw text (GIANT-XRT's main dataset), from OGB's official files.

``arxiv.zip`` (the OGB graph, labels, time split and node -> MAG paper id mapping) and
``titleabs.tsv.gz`` (MAG paper id, title, abstract; the file GIANT's ``X.all.txt`` is made of)
are downloaded by ``iclr data fetch ogbn_arxiv``; offline, tables mark its cells unavailable.
Node features follow ``dataset.features`` like CiteSeer-TAG (TF-IDF, frozen LM, GIANT).
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from iclr.methods.giant_xrt.citeseer_tag import TextGraph, node_data, undirected_edges


def read_ogb_graph(folder: Path) -> dict[str, Any]:
    """OGB's ogbn-arxiv files (``arxiv.zip``, extracted on first use): ``edges`` (2, E) as
    published (directed citations), ``labels`` (N,), ``paper_ids`` (N,) MAG ids in node order,
    ``split`` {train, val, test} index arrays of the time split."""
    import pandas as pd

    root = folder / "arxiv"
    if not root.is_dir():
        with zipfile.ZipFile(folder / "arxiv.zip") as archive:
            archive.extractall(folder)
    return {
        "edges": pd.read_csv(root / "raw" / "edge.csv.gz", header=None).to_numpy().T,
        "labels": pd.read_csv(root / "raw" / "node-label.csv.gz", header=None)[0].to_numpy(),
        "paper_ids": pd.read_csv(root / "mapping" / "nodeidx2paperid.csv.gz")[
            "paper id"
        ].to_numpy(),
        "split": {
            name: pd.read_csv(root / "split" / "time" / f"{file}.csv.gz", header=None)[0].to_numpy()
            for name, file in (("train", "train"), ("val", "valid"), ("test", "test"))
        },
    }


def split_masks(split: dict[str, np.ndarray], num_nodes: int) -> dict[str, Any]:
    """Boolean node masks ``<name>_mask`` of OGB's index arrays."""
    import torch

    masks = {}
    for name, index in split.items():
        mask = torch.zeros(num_nodes, dtype=torch.bool)
        mask[torch.from_numpy(index)] = True
        masks[f"{name}_mask"] = mask
    return masks


def read_text_graph(folder: Path) -> tuple[TextGraph, dict[str, np.ndarray]]:
    """(graph with one "title. abstract" text per node, OGB split as index arrays)."""
    import pandas as pd

    ogb = read_ogb_graph(folder)
    labels = ogb["labels"]
    text = pd.read_csv(
        folder / "titleabs.tsv.gz",
        sep="\t",
        header=None,
        names=["id", "title", "abstract"],
        dtype={"id": np.int64, "title": str, "abstract": str},
        keep_default_na=False,
    ).set_index("id")
    text = text.loc[ogb["paper_ids"]]
    texts = (text["title"] + ". " + text["abstract"]).tolist()
    num_nodes = labels.size
    graph = TextGraph(
        texts,
        labels.astype(np.int64),
        [str(c) for c in range(int(labels.max()) + 1)],
        undirected_edges(ogb["edges"][0], ogb["edges"][1], num_nodes).astype(np.int64),
    )
    return graph, ogb["split"]


def load(dataset_cfg: Any, folder: Path) -> Any:
    """PyG ``Data`` with the features named by ``dataset_cfg.features`` and OGB's time split."""
    graph, split = read_text_graph(folder)
    data = node_data(dataset_cfg, graph, folder)
    for name, mask in split_masks(split, graph.num_nodes).items():
        data[name] = mask
    return data
