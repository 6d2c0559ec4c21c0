"""Stage 1: raw node text -> TF-IDF, with PECOS's vectoriser at the official GIANT settings.

The official ``proc_data_xrt/vect_config.json`` (amzn/pecos, examples/giant-xrt) concatenates
three TF-IDF blocks: word 1-grams (<= 1M features), word 2-grams (<= 3M) and char_wb 3-grams
(<= 200k), each with max_df_ratio 0.98. Those caps were set for ogbn-arxiv (169,343 papers);
``scale_to_corpus`` multiplies them by N / 169,343 so a small corpus keeps the same mix of
blocks instead of its full n-gram vocabulary.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

OGBN_ARXIV_NODES = 169_343  # the corpus the official caps were chosen for


def vectorizer_config(tfidf_cfg: Any, num_docs: int) -> dict[str, Any]:
    """The PECOS ``Preprocessor`` config: one TF-IDF block per entry of ``tfidf_cfg.blocks``."""
    scale = min(1.0, num_docs / OGBN_ARXIV_NODES) if tfidf_cfg.scale_to_corpus else 1.0
    blocks = [
        {
            "ngram_range": [int(b.ngram), int(b.ngram)],
            "max_feature": max(1, int(b.max_features * scale)),
            "max_df_ratio": float(tfidf_cfg.max_df_ratio),
            "analyzer": str(b.analyzer),
        }
        for b in tfidf_cfg.blocks
    ]
    return {"type": "tfidf", "kwargs": {"base_vect_configs": blocks}}


def tfidf_features(texts: Sequence[str], tfidf_cfg: Any) -> sp.csr_matrix:
    """Fit the vectoriser on all node texts (as ``proc_data_xrt.py`` does) and transform them:
    an (N, F) float32 CSR matrix with L2-normalised rows."""
    from pecos.utils.featurization.text.preprocess import Preprocessor

    corpus = list(texts)
    preprocessor = Preprocessor.train(
        corpus, vectorizer_config(tfidf_cfg, len(corpus)), dtype=np.float32
    )
    return sp.csr_matrix(preprocessor.predict(corpus), dtype=np.float32)
