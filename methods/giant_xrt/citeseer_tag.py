"""CiteSeer with raw text (TAPE's ``CiteSeer-Orig``): 3,186 papers, 6 classes, citation graph.

Node features are not in the files: they are built from the raw text by
``iclr.methods.giant_xrt.features`` according to ``dataset.features`` (TF-IDF, frozen MiniLM,
or GIANT features), cached under the data root.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

TEXTS = "citeseer_texts.txt"
CITES = "citeseer.cites"


@dataclass(frozen=True)
class TextGraph:
    """A text-attributed graph: one text per node, an undirected edge list, class labels."""

    texts: list[str]
    labels: np.ndarray  # (N,) int64 class ids
    class_names: list[str]
    edge_index: np.ndarray  # (2, 2E) int64, both directions, no self-loops, no duplicates

    @property
    def num_nodes(self) -> int:
        return len(self.texts)


def undirected_edges(src: np.ndarray, dst: np.ndarray, num_nodes: int) -> np.ndarray:
    """Both directions of every edge, self-loops and duplicates removed, sorted by (src, dst)."""
    both = np.concatenate([np.stack([src, dst]), np.stack([dst, src])], axis=1)
    both = both[:, both[0] != both[1]]
    keys = np.unique(both[0] * num_nodes + both[1])
    return np.stack([keys // num_nodes, keys % num_nodes])


def read_text_graph(folder: Path) -> TextGraph:
    """Parse ``citeseer_texts.txt`` (id / text / label blocks) and ``citeseer.cites``.

    Citations whose ends are not both among the texts are dropped (TAPE's snapshot keeps 4,397 of
    4,732 lines); the graph is made undirected, as GIANT's ``proc_data_xrt.py`` does.
    """
    lines = (folder / TEXTS).read_text(encoding="utf-8").split("\n")
    if len(lines) % 3 == 1 and lines[-1] == "":
        lines = lines[:-1]
    if len(lines) % 3:
        raise ValueError(f"{folder / TEXTS}: expected blocks of 3 lines (id / text / label)")
    ids, texts, label_names = lines[0::3], lines[1::3], lines[2::3]
    class_names = sorted(set(label_names))
    labels = np.searchsorted(class_names, label_names).astype(np.int64)
    index = {paper: i for i, paper in enumerate(ids)}
    pairs = [line.split("\t") for line in (folder / CITES).read_text().splitlines() if line]
    kept = np.array([(index[a], index[b]) for a, b in pairs if a in index and b in index])
    edge_index = undirected_edges(kept[:, 0], kept[:, 1], len(ids))
    return TextGraph(texts, labels, class_names, edge_index.astype(np.int64))


def standardise(x: Any) -> Any:
    """Zero mean, unit variance per dimension (over all nodes; no labels involved).

    Sentence embeddings are L2-normalised, so each dimension varies by ~0.05 around a large
    offset; the runner's MLP / GCN / GraphSAGE have no BatchNorm (the OGB MLP of the official
    downstream scripts has), and without rescaling they barely move from the majority class.
    """
    return (x - x.mean(0)) / x.std(0).clamp_min(1e-8)


def node_data(dataset_cfg: Any, graph: TextGraph, folder: Path) -> Any:
    """A text graph as a PyG ``Data`` whose ``x`` holds the features named by
    ``dataset_cfg.features``, cached under ``<data root>/derived/<dataset>/``."""
    import torch
    from torch_geometric.data import Data

    from iclr.methods.giant_xrt.features import node_features

    x, report = node_features(dataset_cfg, graph, folder.parent / "derived" / dataset_cfg.name)
    if not x.is_sparse_csr:
        x = standardise(x)
    data = Data(
        x=x,
        y=torch.from_numpy(graph.labels),
        edge_index=torch.from_numpy(graph.edge_index),
        num_nodes=graph.num_nodes,
    )
    data.num_classes = len(graph.class_names)
    data.feature_report = report  # GIANT stage timings (None for TF-IDF / frozen features)
    return data


def load(dataset_cfg: Any, folder: Path) -> Any:
    """CiteSeer-TAG with the features of ``dataset_cfg.features``; the train / validation /
    test masks are drawn per seed by the node task (``dataset.split: stratified``)."""
    return node_data(dataset_cfg, read_text_graph(folder), folder)
