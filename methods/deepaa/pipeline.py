"""Entry point of DeepAA and its baselines: search a policy (``method.augment=deepaa``) or build
a baseline augmenter, train the evaluation network with it, report final-epoch test accuracy.

Split discipline: the test images are held out first (MNIST-5k/digits: a stratified split from
``dataset.split_seed``; CIFAR: the official test set). The search model's pre-training images,
the validation pool and the search pool are disjoint parts of the *training* split only.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from iclr.cli.errors import UserError
from iclr.methods.common.runtime import setup_torch
from iclr.methods.common.stratified_split import stratified_masks
from iclr.methods.deepaa import ops, plots
from iclr.methods.deepaa.data import ImageData
from iclr.methods.deepaa.models import build_model
from iclr.methods.deepaa.policy import (
    Augmenter,
    baseline_augmenter,
    named_augmenter,
    policy_augmenter,
)
from iclr.methods.deepaa.search import SearchData, op_probabilities, search_policy
from iclr.methods.deepaa.train import accuracy, as_float, train_model

# Ops that change a digit's label or meaning (mirror images, white-on-black turned black-on-white)
LABEL_CHANGING = ("RandFlip", "Invert", "Solarize")
LARGE_ROTATION = 20.0  # degrees: |angle| at or above this counts as label-changing on digits


@dataclass
class Split:
    """Evaluation split and the search's partitions of its training part."""

    train_x: Tensor
    train_y: Tensor
    test_x: Tensor
    test_y: Tensor


def split_data(data: ImageData, dataset_cfg: Any) -> Split:
    """Hold out the test images: the official test split, else a stratified ``test_size``."""
    if data.test_images is not None:
        return Split(data.images, data.labels, data.test_images, data.test_labels)
    n = len(data.labels)
    test = int(dataset_cfg.test_size)
    if not 0 < test < n:
        raise UserError(f"dataset.test_size must be in (0, {n}), got {test}")
    masks = stratified_masks(
        data.labels, [1 - test / n, 0.0, test / n], int(dataset_cfg.split_seed)
    )
    train, held = ~masks["test"], masks["test"]
    return Split(data.images[train], data.labels[train], data.images[held], data.labels[held])


def search_partitions(
    split: Split, search_cfg: Any, seed: int
) -> tuple[tuple[Tensor, Tensor], SearchData]:
    """Pre-training images and the search/validation pools, disjoint, from the training split."""
    n = len(split.train_y)
    pre, val = int(search_cfg.pretrain_size), int(search_cfg.val_size)
    if pre + val >= n:
        raise UserError(
            f"method.search.pretrain_size + val_size ({pre} + {val}) must leave search images "
            f"out of the {n} training images"
        )
    masks = stratified_masks(split.train_y, [pre / n, val / n, 1 - (pre + val) / n], seed)
    x, y = split.train_x, split.train_y
    pools = SearchData(
        as_float(x[masks["test"]]), y[masks["test"]], as_float(x[masks["val"]]), y[masks["val"]]
    )
    return (x[masks["train"]], y[masks["train"]]), pools


def op_context(dataset_cfg: Any) -> ops.OpContext:
    """Fill colour, cutout side and crop padding of the dataset."""
    aug = dataset_cfg.augment
    return ops.OpContext(tuple(float(f) for f in aug.fill), int(aug.cutout), int(aug.crop_pad))


def policy_metrics(probs: Tensor, candidates: ops.Candidates) -> dict[str, float]:
    """``policy/L<k>/<op>`` (probability of each op, summed over levels), the label-changing
    mass per layer (flips, Invert, Solarize, rotations ≥ 20°) and its value under a uniform
    policy, for the digits check."""
    by_op = op_probabilities(probs, candidates)
    out = {
        f"policy/L{k + 1}/{name}": float(by_op[k, i])
        for k in range(len(probs))
        for i, name in enumerate(ops.OP_NAMES)
    }
    changing = torch.isin(candidates.op, torch.tensor([ops.OP_INDEX[n] for n in LABEL_CHANGING]))
    rotate = candidates.op == ops.OP_INDEX["Rotate"]
    changing |= rotate & (candidates.value.abs() >= LARGE_ROTATION)
    for k in range(len(probs)):
        out[f"policy/L{k + 1}/label_changing"] = float(probs[k][changing].sum())
    out["policy/uniform/label_changing"] = float(changing.float().mean())
    return out


def top_candidates(probs: Tensor, candidates: ops.Candidates, top: int = 5) -> list[list[dict]]:
    """Per layer, the ``top`` ops (summed over levels) with their probabilities and best level."""
    by_op = op_probabilities(probs, candidates)
    layers = []
    for k in range(len(probs)):
        entries = []
        for i in torch.argsort(by_op[k], descending=True)[:top].tolist():
            members = (candidates.op == i).nonzero().squeeze(1)
            best = members[probs[k][members].argmax()]
            entries.append(
                {
                    "op": ops.OP_NAMES[i],
                    "p": round(float(by_op[k, i]), 4),
                    "best_candidate": candidates.name(int(best)),
                    "best_p": round(float(probs[k][best]), 4),
                }
            )
        layers.append(entries)
    return layers


def run_search(
    cfg: Any,
    split: Split,
    data: ImageData,
    candidates: ops.Candidates,
    ctx: ops.OpContext,
    out_dir: Path,
    device: torch.device,
    gen: torch.Generator,
) -> tuple[Tensor, dict[str, float]]:
    """Pre-train the search model (crop/flip/cutout as the dataset says), then search."""
    s = cfg.method.search
    (pre_x, pre_y), pools = search_partitions(split, s, int(cfg.seed))
    ds = cfg.dataset
    model = build_model(s.model, pre_x.shape[1], data.num_classes, ds.mean, ds.std).to(device)
    start = time.perf_counter()
    pre = train_model(
        model,
        (pre_x, pre_y),
        None,
        named_augmenter(list(ds.pretrain_augment), ctx),
        s.pretrain,
        device,
        gen,
        out_dir / "pretrain_history.csv",
        "pretrain",
    )
    pretrain_s = time.perf_counter() - start
    val_acc = accuracy(model, pools.val_x, pools.val_y, device)
    result = search_policy(model, pools, candidates, ctx, s, gen, out_dir / "search_history.csv")
    plots.plot_search_curves(out_dir / "search_history.csv", out_dir / "search_curves.png")
    metrics = {
        "search_pretrain_s": pretrain_s,
        "search_pretrain_val_acc": val_acc,
        "search_pretrain_loss": pre.train_loss,
        "search_s": sum(result.seconds_per_layer),
        "search_s_per_step": sum(result.seconds_per_layer)
        / (len(result.seconds_per_layer) * result.steps),
        **{f"search_s/L{k + 1}": t for k, t in enumerate(result.seconds_per_layer)},
        **{f"search_cos/L{k + 1}": c for k, c in enumerate(result.final_cos)},
    }
    return result.probs, metrics


def save_policy(probs: Tensor, candidates: ops.Candidates, out_dir: Path, label: str) -> None:
    """policy.pt (probabilities + candidates), policy.json (top ops per layer), policy.png."""
    torch.save(
        {
            "probs": probs,
            "op": candidates.op,
            "value": candidates.value,
            "l_mags": candidates.l_mags,
            "op_names": ops.OP_NAMES,
        },
        out_dir / "policy.pt",
    )
    (out_dir / "policy.json").write_text(json.dumps(top_candidates(probs, candidates), indent=1))
    plots.plot_policy(op_probabilities(probs, candidates), out_dir / "policy.png", label)


def load_policy(path: str, candidates: ops.Candidates) -> Tensor:
    """Probabilities from a saved ``policy.pt`` (same ``l_mags``)."""
    saved = torch.load(Path(path), weights_only=True)
    if saved["probs"].shape[1] != len(candidates):
        raise UserError(
            f"{path} has {saved['probs'].shape[1]} candidates, method.search.l_mags gives "
            f"{len(candidates)}; set method.search.l_mags={int(saved['l_mags'])}"
        )
    return saved["probs"]


def run_with_data(
    cfg: Any, data: ImageData, out_dir: Path, device: torch.device
) -> dict[str, float]:
    """The whole run on loaded data (see module docstring)."""
    m = cfg.method
    out_dir.mkdir(parents=True, exist_ok=True)
    gen = torch.Generator().manual_seed(int(cfg.seed))
    split = split_data(data, cfg.dataset)
    candidates = ops.build_candidates(int(m.search.l_mags))
    ctx = op_context(cfg.dataset)
    metrics: dict[str, float] = {"n_candidates": float(len(candidates))}
    kind = str(m.augment)
    if kind == "deepaa":
        if m.get("policy_file"):
            probs = load_policy(str(m.policy_file), candidates)
        else:
            probs, search_metrics = run_search(
                cfg, split, data, candidates, ctx, out_dir, device, gen
            )
            metrics.update(search_metrics)
        save_policy(
            probs, candidates, out_dir, f"DeepAA policy, {cfg.dataset.name}, seed {cfg.seed}"
        )
        metrics.update(policy_metrics(probs, candidates))
        augment: Augmenter = policy_augmenter(probs, candidates, ctx)
    else:
        augment = baseline_augmenter(kind, m, candidates, ctx)
    if m.get("dump_grid", True):
        sample = as_float(split.train_x[:8])
        plots.save_grid(plots.augmented_grid(sample, augment, 8, gen), out_dir / "augmented.png")
    model = build_model(
        m.model, split.train_x.shape[1], data.num_classes, cfg.dataset.mean, cfg.dataset.std
    ).to(device)
    result = train_model(
        model,
        (split.train_x, split.train_y),
        (split.test_x, split.test_y),
        augment,
        m.train,
        device,
        gen,
        out_dir / "history.csv",
        kind,
    )
    metrics.update(
        test_acc=result.test_acc,
        train_loss=result.train_loss,
        train_s=result.seconds,
        train_images_per_s=result.images_per_s,
        n_train=float(len(split.train_y)),
        n_test=float(len(split.test_y)),
    )
    (out_dir / "deepaa_metrics.json").write_text(json.dumps(metrics, indent=1, sort_keys=True))
    return metrics


def run(cfg: Any, out_dir: Path, device: torch.device) -> dict[str, float]:
    """Load the dataset (``iclr.data.load_dataset``), then :func:`run_with_data`."""
    from iclr.data import load_dataset

    resolved = setup_torch(int(cfg.seed), cfg.hardware)
    device = resolved if device is None else device
    data = load_dataset(cfg.dataset, cfg.paths.data_dir, cfg.paths.mirror)
    return run_with_data(cfg, data, out_dir, device)
