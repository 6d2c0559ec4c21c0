"""Model inputs from a panel: min-max scaling, time features, seeded window sampling, and the
seeded perturbations of the paper's studies (cold start, missing-value stretches).

Everything is a gather on the padded arrays: no Python loop over windows or series.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import torch

from iclr.cli.errors import UserError
from iclr.methods.psagan.data import Panel, pad


@dataclass
class Scaler:
    """Per-series min-max scaling fitted on the training part (the ``*_nips_scaled`` datasets
    of the official Context-FID scripts); constant series get a unit range."""

    low: np.ndarray  # (N,)
    span: np.ndarray  # (N,)

    @classmethod
    def fit(cls, panel: Panel) -> Scaler:
        """Min and range of every training series (NaN ignored)."""
        low = np.nanmin(panel.train, axis=1)
        span = np.nanmax(panel.train, axis=1) - low
        return cls(low.astype(np.float32), np.where(span > 0, span, 1.0).astype(np.float32))

    def transform(self, values: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """Scale rows ``values`` of series ``ids`` into [0, 1] (on the training range)."""
        return (values - self.low[ids, None]) / self.span[ids, None]

    def inverse(self, values: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """Back to the series' original units."""
        return values * self.span[ids, None] + self.low[ids, None]


def time_feature_table(panel: Panel, length: int) -> np.ndarray:
    """(F, length) GluonTS time features of the frequency + log-age, from ``panel.start``.

    The age feature is ``log10(2 + t)`` as GluonTS's ``AddAgeFeature(log_scale=True)``;
    position ``offsets[i] + t`` indexes series ``i``'s step ``t``.
    """
    from gluonts.time_feature import time_features_from_frequency_str

    index = pd.period_range(panel.start, periods=length, freq=panel.freq)
    feats = [f(index) for f in time_features_from_frequency_str(panel.freq)]
    age = np.log10(2.0 + np.arange(length))
    return np.stack([*feats, age]).astype(np.float32)


@dataclass
class Batch:
    """A batch of windows with everything the generator / discriminator read."""

    target: torch.Tensor  # (B, L) scaled values
    time_feat: torch.Tensor  # (B, F, L)
    series: torch.Tensor  # (B,) int64 series ids
    context: torch.Tensor  # (B, C) scaled values before the window (C may be 0)

    def to(self, device: torch.device | str) -> Batch:
        """The batch on ``device`` (windows are sampled on the CPU)."""
        return Batch(
            *(t.to(device) for t in (self.target, self.time_feat, self.series, self.context))
        )


class WindowSampler:
    """Seeded random windows of length ``length`` (+ ``context`` steps before) from a split.

    Only windows whose values (and context) are all observed are drawn: series with fewer
    valid positions are drawn less often, as GluonTS's instance samplers do.
    """

    def __init__(
        self,
        panel: Panel,
        scaler: Scaler,
        length: int,
        context: int = 0,
        split: str = "train",
        seed: int = 0,
    ) -> None:
        values, lengths = (
            (panel.train, panel.train_lengths)
            if split == "train"
            else (panel.test, panel.test_lengths)
        )
        ids = np.arange(len(values)) if split == "train" else panel.test_ids
        self.values = scaler.transform(values, ids).astype(np.float32)
        self.ids, self.length, self.context = ids, int(length), int(context)
        self.offsets = panel.offsets[ids]
        span = self.length + self.context
        max_pos = int(self.offsets.max() + values.shape[1]) + 1
        self.features = time_feature_table(panel, max_pos)
        # Valid window starts: every position whose window is fully observed (NaN = missing).
        observed = np.isfinite(self.values)
        cums = np.concatenate([np.zeros((len(values), 1)), np.cumsum(~observed, axis=1)], axis=1)
        n_pos = values.shape[1] - span + 1
        if n_pos <= 0:
            raise UserError(
                f"{panel.name}: series of length {values.shape[1]} are shorter than window "
                f"{self.length} + context {self.context}; lower method.target_len"
            )
        starts = np.arange(n_pos)
        valid = (cums[:, starts + span] - cums[:, starts]) == 0
        self.rows, self.starts = np.nonzero(valid)
        if len(self.rows) == 0:
            raise UserError(f"{panel.name}: no fully observed window of length {span}")
        self.rng = np.random.default_rng(seed)

    def sample(self, batch_size: int, one_per_series: bool = False) -> Batch:
        """``batch_size`` windows; ``one_per_series`` draws distinct series first (Context-FID's
        ``ExpectedNumInstanceSampler(num_instances=1)``), repeating only if there are fewer."""
        if one_per_series:
            rows = np.unique(self.rows)
            rows = self.rng.permutation(rows)[:batch_size]
            rows = np.resize(rows, batch_size)
            # For each chosen row draw one of its valid starts uniformly.
            first = np.searchsorted(self.rows, rows, side="left")
            count = np.searchsorted(self.rows, rows, side="right") - first
            pick = first + (self.rng.random(batch_size) * count).astype(np.int64)
        else:
            pick = self.rng.integers(0, len(self.rows), batch_size)
        return self.take(self.rows[pick], self.starts[pick])

    def take(self, rows: np.ndarray, starts: np.ndarray) -> Batch:
        """The windows of ``rows`` starting (context included) at ``starts``."""
        span = self.length + self.context
        pos = starts[:, None] + np.arange(span)[None, :]
        vals = self.values[rows[:, None], pos]
        feat_pos = self.offsets[rows][:, None] + pos[:, self.context :]
        feats = self.features[:, feat_pos].transpose(1, 0, 2)
        return Batch(
            target=torch.from_numpy(np.ascontiguousarray(vals[:, self.context :])),
            time_feat=torch.from_numpy(np.ascontiguousarray(feats)),
            series=torch.from_numpy(self.ids[rows].astype(np.int64)),
            context=torch.from_numpy(np.ascontiguousarray(vals[:, : self.context])),
        )


def cold_start(panel: Panel, fraction: float) -> Panel:
    """Keep only the most recent ``fraction`` of each training series' history (the upstream
    choice of which part to keep is undocumented); the test split keeps its horizon."""
    if not 0 < fraction <= 1:
        raise UserError(f"cold-start fraction must be in (0, 1], got {fraction}")
    keep = np.maximum(np.ceil(panel.train_lengths * fraction).astype(np.int64), 1)
    drop = panel.train_lengths - keep
    cols = np.arange(panel.train.shape[1])[None, :] + drop[:, None]
    inside = cols < panel.train_lengths[:, None]
    train = np.where(
        inside,
        panel.train[np.arange(len(keep))[:, None], np.minimum(cols, panel.train.shape[1] - 1)],
        np.nan,
    )
    width = int(keep.max())
    # The test entries also lose the dropped prefix, so a forecaster sees the same history.
    tdrop = drop[panel.test_ids]
    tcols = np.arange(panel.test.shape[1])[None, :] + tdrop[:, None]
    tlen = panel.test_lengths - tdrop
    tin = np.arange(panel.test.shape[1])[None, :] < tlen[:, None]
    test = np.where(
        tin,
        panel.test[np.arange(len(tdrop))[:, None], np.minimum(tcols, panel.test.shape[1] - 1)],
        np.nan,
    )
    return replace(
        panel,
        train=train[:, :width].astype(np.float32),
        train_lengths=keep,
        test=test[:, : int(tlen.max())].astype(np.float32),
        test_lengths=tlen,
        offsets=panel.offsets + drop,
        description=f"{panel.description}; cold start: last {fraction:g} of history",
    )


def missing_stretches(
    panel: Panel, stretch: int, seed: int, per_series: int = 1
) -> tuple[Panel, np.ndarray]:
    """NaN stretches of length ``stretch`` at seeded random positions of the training part
    (``mv-datasets2/*-stretch-len-L``); returns the panel and the (N, T) boolean mask.

    The same positions are masked in the test entries' history, so the forecaster's context
    has the gaps too; the horizon is never masked.
    """
    if stretch < 1:
        raise UserError(f"missing-value stretch length must be >= 1, got {stretch}")
    rng = np.random.default_rng(seed)
    n, t = panel.train.shape
    room = np.maximum(panel.train_lengths - stretch, 1)
    starts = (rng.random((n, per_series)) * room[:, None]).astype(np.int64)
    cols = np.arange(t)[None, None, :]
    mask = ((cols >= starts[..., None]) & (cols < starts[..., None] + stretch)).any(axis=1)
    mask &= np.arange(t)[None, :] < panel.train_lengths[:, None]
    train = np.where(mask, np.nan, panel.train).astype(np.float32)
    tmask = np.zeros(panel.test.shape, dtype=bool)
    width = min(t, panel.test.shape[1])
    tmask[:, :width] = mask[panel.test_ids, :width]
    test = np.where(tmask, np.nan, panel.test).astype(np.float32)
    out = replace(
        panel,
        train=train,
        test=test,
        description=f"{panel.description}; {per_series} missing stretch(es) of {stretch}",
    )
    return out, mask


__all__ = ["Batch", "Scaler", "WindowSampler", "cold_start", "missing_stretches", "pad"]
