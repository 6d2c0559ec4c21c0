"""DIVA job entrypoint: build the features, choose λ, run one procedure, write CSV/PNG outputs.

``method.procedure``:
- ``reweight`` (Table 1): test error at α = 1 and after 1…``steps`` Reweight steps;
- ``mislabel`` (Fig. 3): flip ``noise`` of the training labels, flag ∇_α L ≥ ε, F1 and AUC;
- ``extend`` (Fig. 4): DIVA Extend from a core set vs uniform sampling from the same pool;
- ``augment`` (Fig. 5 left): Reweight on D ∪ flipped copies, transformation probabilities p_k.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import torch

from iclr.methods.diva.derivatives import loo_predictions
from iclr.methods.diva.linearised import BlockFeatures, fit_block_ridge
from iclr.methods.diva.procedures import Objective
from iclr.methods.diva.ridge import fit_weighted_ridge
from iclr.methods.diva.tasks import FeatureTask, load_task

log = logging.getLogger(__name__)


def choose_lambda(task: FeatureTask, method: Any) -> float:
    """``method.lam`` if it is a number; with ``lam: loo``, the λ of ``lam_grid`` whose
    closed-form LOO classification error on the training set is lowest (no test data used)."""
    if str(method.lam) != "loo":
        return float(method.lam)
    y = task.one_hot(task.labels_train)
    alpha = torch.ones(len(y), dtype=torch.float64)
    errors = {}
    for lam in method.lam_grid:
        if isinstance(task.z_train, BlockFeatures):
            loo = fit_block_ridge(task.z_train, y, alpha, float(lam)).loo_predictions()
        else:
            loo = loo_predictions(fit_weighted_ridge(task.z_train, y, alpha, float(lam)))
        errors[float(lam)] = (loo.argmax(1) != task.labels_train).double().mean().item()
    return min(errors, key=errors.get)


def objective_for(task: FeatureTask, method: Any, lam: float) -> tuple[Objective, FeatureTask]:
    """The objective of ``method.objective``; for ``val`` on a task without a validation set,
    ``method.val_size`` training rows (seeded) become the validation set."""
    if method.objective == "val" and task.z_val is None:
        n_val = int(method.val_size)
        task = FeatureTask(
            task.z_train[n_val:],
            task.labels_train[n_val:],
            task.z_test,
            task.labels_test,
            task.num_classes,
            task.z_train[:n_val],
            task.labels_train[:n_val],
            None if task.train_images is None else task.train_images[n_val:],
            task.featurize,
            task.rows,
        )
    y_val = None if task.labels_val is None else task.one_hot(task.labels_val)
    return Objective(method.objective, method.loss, lam, "auto", task.z_val, y_val), task


def run(cfg: Any, out_dir: Path, device: torch.device) -> dict[str, float]:
    """Run ``cfg.method.procedure`` on ``cfg.dataset``; metrics are fractions (errors in [0, 1])."""
    from iclr.methods.diva import experiments

    method = cfg.method
    # method.procedure is one of these: the config's ``options`` block is checked before a job
    procedures = {
        "reweight": experiments.reweight_experiment,
        "mislabel": experiments.mislabel_experiment,
        "extend": experiments.extend_experiment,
        "augment": experiments.augment_experiment,
    }
    start = time.perf_counter()
    task = load_task(cfg, device)
    features_s = time.perf_counter() - start
    lam = choose_lambda(task, method)
    objective, task = objective_for(task, method, lam)
    start = time.perf_counter()
    metrics = procedures[method.procedure](task, objective, method, int(cfg.seed), out_dir)
    return {
        **metrics,
        "lam": lam,
        "n_train": float(len(task.labels_train)),
        "feature_dim": float(task.z_train.shape[1]),
        "features_s": features_s,
        "diva_s": time.perf_counter() - start,
    }
