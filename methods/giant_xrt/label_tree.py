"""Stage 2: neighbourhood prediction as XMC, and its multi-scale targets.

As in the official ``proc_data_xrt.py``: the label matrix is the adjacency matrix of the
undirected graph (node i's labels are its neighbours) restricted to the nodes of degree below
``max_degree``. Labels (= nodes) get PIFA embeddings (the normalised sum of the TF-IDF rows of
the nodes that have them as a label), and PECOS's balanced hierarchical k-means clusters them
into a tree. Level t of the tree gives the "multi-scale" target matrix Y_t = 1[Y C_t > 0]:
node i is relevant to a cluster when one of its neighbours lies in it; the last level is Y.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp


@dataclass(frozen=True)
class LabelTree:
    """Targets of every level, coarse to fine, and the parent of each cluster.

    ``targets[t]`` is (num_train_nodes, size of level t), binary CSR; ``parents[t]`` maps each
    cluster of level t to its cluster at level t - 1 (``parents[0]`` is all zeros: one root).
    The last level is the labels (neighbours) themselves.
    """

    train_nodes: np.ndarray
    targets: list[sp.csr_matrix]
    parents: list[np.ndarray]
    chain: Any = None  # PECOS ClusterChain (for XR-Linear)
    leaf_members: sp.csr_matrix | None = None  # (labels, finest clusters) 0/1 membership

    @property
    def level_sizes(self) -> list[int]:
        return [t.shape[1] for t in self.targets]


def neighbour_labels(edge_index: np.ndarray, num_nodes: int, max_degree: int):
    """(training node ids, label matrix Y of their adjacency rows): the official Y.trn.npz."""
    src, dst = edge_index
    adjacency = sp.csr_matrix(
        (np.ones(src.size, dtype=np.float32), (src, dst)), shape=(num_nodes, num_nodes)
    )
    degree = np.diff(adjacency.indptr)
    train_nodes = np.flatnonzero(degree < max_degree)
    return train_nodes, adjacency[train_nodes]


def build_label_tree(
    edge_index: np.ndarray, num_nodes: int, tfidf: sp.csr_matrix, tree_cfg: Any
) -> LabelTree:
    """PIFA label embeddings + PECOS hierarchical balanced k-means -> per-level targets."""
    from pecos.xmc import Indexer, LabelEmbeddingFactory

    train_nodes, labels = neighbour_labels(edge_index, num_nodes, int(tree_cfg.max_degree))
    pifa = LabelEmbeddingFactory.create(labels, tfidf[train_nodes], method="pifa")
    chain = Indexer.gen(
        pifa,
        indexer_type="hierarchicalkmeans",
        nr_splits=int(tree_cfg.nr_splits),
        max_leaf_size=int(tree_cfg.max_leaf_size),
        seed=int(tree_cfg.seed),
        threads=int(tree_cfg.threads),
    )
    # chain[t] is (size of level t, size of level t - 1); the last one maps labels to leaves.
    # Cluster membership of the labels at level t: compose the chain from the labels upwards.
    members = [sp.identity(num_nodes, dtype=np.float32, format="csr")]
    for c in reversed(chain[1:]):
        members.insert(0, members[0] @ sp.csr_matrix(c, dtype=np.float32))
    targets = [binarise(labels @ m) for m in members]
    parents = [np.asarray(sp.csr_matrix(c).argmax(axis=1)).ravel() for c in chain]
    leaves = members[-2] if len(members) > 1 else members[-1]
    return LabelTree(train_nodes, targets, parents, chain, sp.csr_matrix(leaves))


def binarise(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """The 0/1 pattern of a non-negative sparse matrix."""
    out = sp.csr_matrix(matrix, dtype=np.float32)
    out.eliminate_zeros()
    out.data[:] = 1.0
    return out
