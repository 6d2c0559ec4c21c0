"""Matrix-factorisation baselines of RIM's tables, ALS and BPR from the ``implicit`` package
(upstream ``rime/models/implicit.py``), on the same protocol and metrics as ``rim``.

Both fit the binary user × item matrix of D's training events (every user's history, as
upstream's ``fit(D.training_data)``) and score test users × test items by the factor dot
product; the metrics are keyed ``ALS/...`` or ``BPR/...`` and, unprefixed, for the main metric.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

from iclr.methods.common.runtime import setup_torch
from iclr.methods.rim.data import load_splits
from iclr.methods.rim.pipeline import evaluate_models, headline_metrics
from iclr.methods.rim.protocol import EvalSplit
from iclr.methods.rim.scores import LowRankScores


def _interactions(split: EvalSplit) -> sp.csr_matrix:
    rows = split.train_items.row_ids()
    matrix = sp.csr_matrix(
        (np.ones(len(rows), dtype=np.float32), (rows, split.train_items.values)),
        shape=(len(split.train_items.lengths), split.n_items_total),
    )
    matrix.data[:] = 1.0
    return matrix


def _run(cfg: Any, out_dir: Path, label: str, build) -> dict[str, float]:
    from threadpoolctl import threadpool_limits

    setup_torch(int(cfg.seed), cfg.hardware)
    d, _ = load_splits(cfg)
    # implicit checks the BLAS thread pool when the model is built, so build it inside the limit
    with threadpool_limits(1, "blas"):
        model = build(cfg.method, int(cfg.seed))
        model.fit(_interactions(d), show_progress=False)
    users = np.asarray(model.user_factors)[d.users]
    items = np.asarray(model.item_factors)[d.items]
    scores = LowRankScores(torch.from_numpy(users).double(), torch.from_numpy(items).double())
    metrics = evaluate_models({label: scores}, d, int(cfg.seed))
    metrics.update(d.stats())
    metrics.update(headline_metrics(metrics, label))
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "rim_metrics.json").write_text(json.dumps(metrics, indent=1, sort_keys=True))
    return metrics


def run_als(cfg: Any, out_dir: Path, device: torch.device) -> dict[str, float]:
    """ALS (Hu et al., 2008) through ``implicit.als.AlternatingLeastSquares``."""
    from implicit.als import AlternatingLeastSquares

    def build(m: Any, seed: int):
        return AlternatingLeastSquares(
            factors=int(m.factors),
            regularization=float(m.regularization),
            iterations=int(m.iterations),
            random_state=seed,
            num_threads=1,
        )

    return _run(cfg, out_dir, "ALS", build)


def run_bpr(cfg: Any, out_dir: Path, device: torch.device) -> dict[str, float]:
    """BPR (Rendle et al., 2009) through ``implicit.bpr.BayesianPersonalizedRanking``."""
    from implicit.bpr import BayesianPersonalizedRanking

    def build(m: Any, seed: int):
        return BayesianPersonalizedRanking(
            factors=int(m.factors),
            learning_rate=float(m.learning_rate),
            regularization=float(m.regularization),
            iterations=int(m.iterations),
            random_state=seed,
            num_threads=1,
        )

    return _run(cfg, out_dir, "BPR", build)
