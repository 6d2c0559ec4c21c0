"""The four DIVA experiments (one per ``method.procedure``), each returning its metrics and
writing its curves (CSV, PNG) in the run folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from iclr.cli.errors import UserError
from iclr.methods.common.history import History
from iclr.methods.diva.procedures import (
    Objective,
    augmentation_probabilities,
    error_rate,
    extend,
    flag_detrimental,
    reweight,
)
from iclr.methods.diva.tasks import FeatureTask


def _write_csv(path: Path, rows: list[dict[str, float]]) -> None:
    with History(path) as history:
        for row in rows:
            history.write(**row)


def _figure() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def reweight_experiment(
    task: FeatureTask, objective: Objective, method: Any, seed: int, out_dir: Path
) -> dict[str, float]:
    """Table 1: test error at α = 1 (step 0) and after each Reweight step (optionally on
    labels with ``reweight.label_noise`` flipped first)."""
    labels = task.labels_train
    if float(method.reweight.label_noise) > 0:
        labels, _ = flip_labels(labels, task.num_classes, float(method.reweight.label_noise), seed)
    y = task.one_hot(labels)
    steps = int(method.reweight.steps)
    alphas, values = reweight(
        task.z_train, y, objective, steps, float(method.reweight.lr), method.reweight.normalise
    )
    rows, metrics = [], {}
    for step, (alpha, value) in enumerate(zip(alphas, values, strict=True)):
        error = error_rate(task.z_train, y, alpha, objective.lam, task.z_test, task.labels_test)
        rows.append(
            {
                "step": step,
                "test_error": error,
                "objective": value,
                "alpha_min": alpha.min().item(),
                "alpha_zero": int((alpha == 0).sum()),
            }
        )
        metrics[f"test_error_step{step}"] = error
        metrics[f"objective_step{step}"] = value
    _write_csv(out_dir / "reweight.csv", rows)
    metrics["test_error"] = metrics[f"test_error_step{steps}"]
    metrics["gain"] = metrics["test_error_step0"] - metrics["test_error"]
    return metrics


def flip_labels(
    labels: Tensor, num_classes: int, fraction: float, seed: int
) -> tuple[Tensor, Tensor]:
    """Replace ``fraction`` of the labels by a uniformly drawn *other* class; (labels, flipped)."""
    generator = torch.Generator().manual_seed(seed)
    n_flip = round(fraction * len(labels))
    rows = torch.randperm(len(labels), generator=generator)[:n_flip]
    shift = torch.randint(1, num_classes, (n_flip,), generator=generator)
    noisy = labels.clone()
    noisy[rows] = (labels[rows] + shift) % num_classes
    flipped = torch.zeros(len(labels), dtype=torch.bool)
    flipped[rows] = True
    return noisy, flipped


def mislabel_experiment(
    task: FeatureTask, objective: Objective, method: Any, seed: int, out_dir: Path
) -> dict[str, float]:
    """Fig. 3: detect uniformly flipped labels by the dataset derivative at α = 1."""
    from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score

    noise = method.mislabel
    noisy, flipped = flip_labels(task.labels_train, task.num_classes, float(noise.fraction), seed)
    y = task.one_hot(noisy)
    alpha = torch.ones(len(y), dtype=torch.float64)
    _, grad = objective.gradient(task.z_train, y, alpha)
    flagged = flag_detrimental(grad, float(noise.eps))
    truth, scores = flipped.numpy(), grad.numpy()
    plt = _figure()
    figure, axis = plt.subplots(figsize=(5, 3.2))
    axis.hist(
        [scores[~truth], scores[truth]], bins=60, label=["correct", "mislabelled"], stacked=False
    )
    axis.axvline(float(noise.eps), color="k", lw=0.8)
    axis.set_xlabel("∇α L (per sample)")
    axis.legend()
    figure.tight_layout()
    figure.savefig(out_dir / "mislabel_gradients.png", dpi=120)
    plt.close(figure)
    kept = (~flagged).double()
    z, z_test, labels_test = task.z_train, task.z_test, task.labels_test
    return {
        "f1": float(f1_score(truth, flagged.numpy())),
        "auc": float(roc_auc_score(truth, scores)),
        "precision": float(precision_score(truth, flagged.numpy(), zero_division=0)),
        "recall": float(recall_score(truth, flagged.numpy())),
        "flagged_fraction": flagged.double().mean().item(),
        "test_error": error_rate(z, y, alpha, objective.lam, z_test, labels_test),
        "test_error_flagged_removed": error_rate(z, y, kept, objective.lam, z_test, labels_test),
    }


def extend_experiment(
    task: FeatureTask, objective: Objective, method: Any, seed: int, out_dir: Path
) -> dict[str, float]:
    """Fig. 4: DIVA Extend vs uniform sampling from the same pool, at equal numbers added."""
    cfg = method.extend
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(task.labels_train), generator=generator)
    n_core = int(cfg.core)
    rows = order[: n_core + int(cfg.pool)] if cfg.get("pool") else order
    z, labels = task.z_train[rows], task.labels_train[rows]
    y = task.one_hot(labels)
    in_pool = torch.arange(len(rows)) >= n_core
    rounds = extend(z, y, in_pool, objective, int(cfg.per_round), int(cfg.max_rounds))
    pool_order = torch.nonzero(in_pool).squeeze(1)[
        torch.randperm(int(in_pool.sum()), generator=generator)
    ]

    def error(alpha: Tensor) -> float:
        return error_rate(z, y, alpha, objective.lam, task.z_test, task.labels_test)

    core = (~in_pool).double()
    curve = [{"added": 0, "diva": error(core), "uniform": error(core)}]
    diva_alpha, added = core.clone(), 0
    for chosen in rounds:
        diva_alpha[chosen] = 1.0
        added += len(chosen)
        uniform_alpha = core.clone()
        uniform_alpha[pool_order[:added]] = 1.0
        curve.append({"added": added, "diva": error(diva_alpha), "uniform": error(uniform_alpha)})
    whole_pool = error(torch.ones(len(rows), dtype=torch.float64))
    _write_csv(out_dir / "extend.csv", curve)
    plt = _figure()
    figure, axis = plt.subplots(figsize=(5, 3.2))
    counts = [p["added"] for p in curve]
    axis.plot(counts, [100 * p["diva"] for p in curve], "o-", label="DIVA Extend")
    axis.plot(counts, [100 * p["uniform"] for p in curve], "s--", label="uniform")
    axis.axhline(100 * whole_pool, color="gray", lw=0.8, label=f"whole pool ({int(in_pool.sum())})")
    axis.set_xlabel("samples added from the pool")
    axis.set_ylabel("test error (%)")
    axis.legend()
    figure.tight_layout()
    figure.savefig(out_dir / "extend.png", dpi=120)
    plt.close(figure)
    later = curve[1:] or curve
    return {
        "test_error_core": curve[0]["diva"],
        "test_error": curve[-1]["diva"],
        "test_error_uniform": curve[-1]["uniform"],
        "test_error_whole_pool": whole_pool,
        "n_added": float(added),
        "mean_gain_vs_uniform": sum(p["uniform"] - p["diva"] for p in later) / len(later),
    }


FLIPS = {"identity": None, "hflip": -1, "vflip": -2}


def augment_experiment(
    task: FeatureTask, objective: Objective, method: Any, seed: int, out_dir: Path
) -> dict[str, float]:
    """Fig. 5 (left): Reweight on D ∪ D^hflip ∪ D^vflip; p_k is the weight share of copy k."""
    if task.train_images is None or task.featurize is None:
        raise UserError("procedure=augment needs an image dataset (flips of the images)")
    if not isinstance(task.z_train, Tensor):
        raise UserError("procedure=augment is not supported with a linearised backbone")
    copies = [task.train_images if d is None else task.train_images.flip(d) for d in FLIPS.values()]
    z = torch.cat([task.featurize(images) for images in copies])
    labels = task.labels_train.repeat(len(copies))
    transform_of = torch.arange(len(copies)).repeat_interleave(len(task.labels_train))
    y = task.one_hot(labels)
    alphas, _ = reweight(
        z,
        y,
        objective,
        int(method.reweight.steps),
        float(method.reweight.lr),
        method.reweight.normalise,
    )
    probabilities = augmentation_probabilities(alphas[-1], transform_of, list(FLIPS))
    original = transform_of == 0
    y_original = task.one_hot(task.labels_train)
    ones = torch.ones(len(task.labels_train), dtype=torch.float64)
    return {
        **{f"p_{name}": p for name, p in probabilities.items()},
        "test_error_original": error_rate(
            task.z_train, y_original, ones, objective.lam, task.z_test, task.labels_test
        ),
        "test_error_all_copies": error_rate(
            z, y, alphas[0], objective.lam, task.z_test, task.labels_test
        ),
        "test_error": error_rate(z, y, alphas[-1], objective.lam, task.z_test, task.labels_test),
        "alpha_mean_original": alphas[-1][original].mean().item(),
    }
