"""Optional stage 4b: XR-Linear (PECOS) on TF-IDF, its neighbour scores as extra features.

The paper discusses XR-Linear, PECOS's linear XMC model over the same label tree, as the
TF-IDF counterpart of XR-Transformer. With ``giant.concat_xrlinear`` its top-k predicted
neighbours of every node, summed per finest cluster of the tree (a dense (N, clusters) matrix,
so the width does not grow with the number of nodes), are concatenated to the encoder's
embedding.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from iclr.methods.giant_xrt.label_tree import LabelTree


def xr_linear_cluster_scores(tfidf: sp.csr_matrix, tree: LabelTree, cfg: Any) -> np.ndarray:
    """(N, finest clusters) float32: XR-Linear's top-``only_topk`` neighbour scores of every
    node, summed within each finest cluster of the label tree."""
    from pecos.xmc.xlinear.model import XLinearModel

    labels = sp.csc_matrix(tree.targets[-1], dtype=np.float32)
    model = XLinearModel.train(
        tfidf[tree.train_nodes], labels, C=tree.chain, threads=int(cfg.threads)
    )
    scores = model.predict(
        tfidf,
        only_topk=int(cfg.only_topk),
        beam_size=int(cfg.beam_size),
        threads=int(cfg.threads),
    )
    return np.asarray((sp.csr_matrix(scores) @ tree.leaf_members).todense(), dtype=np.float32)
