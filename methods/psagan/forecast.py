"""Downstream forecasting: GluonTS DeepAR (torch) trained on real data vs real + synthetic
windows, scored with GluonTS's ``Evaluator`` on the test split (NRMSE and ND).

Synthetic windows are generated in the scaled space with real windows' time features and series
ids, mapped back to the series' units and added to the training set as extra series starting
at their window's timestamp (data augmentation, as in the paper's Section 4).
"""

from __future__ import annotations

import tempfile
import time
from typing import Any

import numpy as np
import pandas as pd
import torch

from iclr.methods.psagan.data import Panel
from iclr.methods.psagan.train import module_device


def list_dataset(panel: Panel, split: str, extra: list[tuple[pd.Period, np.ndarray]] = ()) -> Any:
    """A GluonTS ``ListDataset`` of a panel split (+ extra (start, values) series)."""
    from gluonts.dataset.common import ListDataset

    values, lengths, ids = (
        (panel.train, panel.train_lengths, np.arange(panel.num_series))
        if split == "train"
        else (panel.test, panel.test_lengths, panel.test_ids)
    )
    entries = [
        {"start": panel.start + int(panel.offsets[i]), "target": row[:n]}
        for row, n, i in zip(values, lengths, ids, strict=True)
    ]
    entries += [{"start": start, "target": target} for start, target in extra]
    return ListDataset(entries, freq=panel.freq)


def synthetic_series(
    panel: Panel, starts: np.ndarray, series: np.ndarray, values: np.ndarray, scaler: Any
) -> list[tuple[pd.Period, np.ndarray]]:
    """(start, values in original units) of synthetic windows of training series ``series``
    whose first step is position ``starts`` of their series."""
    original = scaler.inverse(values, series)
    return [
        (panel.start + int(panel.offsets[s] + t0), row.astype(np.float32))
        for s, t0, row in zip(series, starts, original, strict=True)
    ]


def point_scores(truth: np.ndarray, forecast: np.ndarray) -> dict[str, float]:
    """GluonTS's aggregate NRMSE (√mean (y − ŷ)² / mean |y|) and ND (Σ|y − ŷ| / Σ|y|)."""
    err = truth - forecast
    scale = np.abs(truth).mean()
    return {
        "nrmse": float(np.sqrt((err**2).mean()) / scale),
        "nd": float(np.abs(err).sum() / np.abs(truth).sum()),
    }


@torch.no_grad()
def conditional_forecast(
    panel: Panel, scaler: Any, generator: Any, features: np.ndarray, samples: int, seed: int
) -> dict[str, float]:
    """PSA-GAN-C as a forecaster: for every test entry, generate the window that follows its
    last ``context_length`` observations before the horizon (``samples`` draws); the median's
    first ``prediction_length`` steps are the point forecast (ND) and the mean's (NRMSE)."""
    ctx, length, h = (
        int(generator.context_length),
        int(generator.target_len),
        panel.prediction_length,
    )
    ids = panel.test_ids
    cut = panel.test_lengths - h  # first horizon position of each test entry
    pos = cut[:, None] + np.arange(-ctx, 0)[None, :]
    if (pos < 0).any() or h > length:
        from iclr.cli.errors import UserError

        raise UserError("PSA-GAN-C forecasting needs context_length history and target_len >= h")
    rows = np.arange(len(ids))
    context = scaler.transform(panel.test[rows[:, None], pos], ids)
    context = np.nan_to_num(context, nan=0.5)  # a missing stretch in the context: mid-range
    feat_pos = panel.offsets[ids][:, None] + cut[:, None] + np.arange(length)[None, :]
    if feat_pos.max() >= features.shape[1]:
        from iclr.cli.errors import UserError

        raise UserError("time-feature table too short for the forecast window")
    time_feat = torch.from_numpy(np.ascontiguousarray(features[:, feat_pos].transpose(1, 0, 2)))
    gen = torch.Generator().manual_seed(seed)
    device = module_device(generator)
    series = torch.from_numpy(ids).to(device)
    time_feat, context_t = time_feat.to(device), torch.from_numpy(context.astype(np.float32))
    draws = []
    for _ in range(samples):  # a loop over sample paths; each is one batched forward
        noise = torch.randn((len(ids), length), generator=gen).to(device)
        out = generator(noise, time_feat, series, None, 1.0, context_t.to(device))
        draws.append(out[:, :h].cpu().numpy())
    paths = scaler.inverse(np.stack(draws).reshape(samples * len(ids), h), np.tile(ids, samples))
    paths = paths.reshape(samples, len(ids), h)
    truth = panel.test[rows[:, None], cut[:, None] + np.arange(h)[None, :]]
    median, mean = np.median(paths, axis=0), paths.mean(axis=0)
    return {"nrmse": point_scores(truth, mean)["nrmse"], "nd": point_scores(truth, median)["nd"]}


def deepar_scores(
    panel: Panel, cfg: Any, seed: int, extra: list[tuple[pd.Period, np.ndarray]] = ()
) -> dict[str, float]:
    """Train DeepAR on the training split (+ ``extra``) and evaluate on the test split."""
    import lightning.pytorch as pl
    from gluonts.evaluation import Evaluator, make_evaluation_predictions
    from gluonts.torch import DeepAREstimator

    pl.seed_everything(seed, workers=True, verbose=False)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="deepar-") as root:
        estimator = DeepAREstimator(
            freq=panel.freq,
            prediction_length=panel.prediction_length,
            context_length=int(cfg.context_length),
            num_layers=int(cfg.num_layers),
            hidden_size=int(cfg.hidden_size),
            batch_size=int(cfg.batch_size),
            num_batches_per_epoch=int(cfg.batches_per_epoch),
            num_parallel_samples=int(cfg.samples),
            # No enable_checkpointing=False: it clashes with the ModelCheckpoint gluonts adds. Its
            # checkpoint would land in ./checkpoints of the caller's folder: a scratch root instead.
            trainer_kwargs={
                "default_root_dir": root,
                "max_epochs": int(cfg.epochs),
                "accelerator": "cpu",
                "enable_progress_bar": False,
                "enable_model_summary": False,
                "logger": False,
            },
        )
        predictor = estimator.train(list_dataset(panel, "train", extra), cache_data=True)
    train_s = time.perf_counter() - start
    forecasts, truths = make_evaluation_predictions(
        list_dataset(panel, "test"), predictor, num_samples=int(cfg.samples)
    )
    evaluator = Evaluator(quantiles=[0.1, 0.5, 0.9], num_workers=0)
    agg, _ = evaluator(truths, forecasts)
    return {
        "nrmse": float(agg["NRMSE"]),
        "nd": float(agg["ND"]),
        "mean_wql": float(agg["mean_wQuantileLoss"]),
        "train_s": train_s,
        "total_s": time.perf_counter() - start,
    }
