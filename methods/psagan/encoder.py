"""The Context-FID encoder: the causal dilated CNN of Franceschi et al. (2019) trained per dataset
with its unsupervised triplet loss (official ``cnn_encoder``: weight-norm causal convolutions,
dilations 1, 2, 4, …, residual 1×1 convs, adaptive max-pool over time, a linear layer).

Triplets as in the official ``SubSeriesDatasetCNN``: per batch one random reference length
(≤ ``max_len``), a positive sub-series of it and ``negatives`` sub-series of other random
series, all of one random length; loss = −logσ(⟨r, p⟩) − mean_k logσ(−⟨r, n_k⟩). Sampling is
vectorised: the whole batch is one gather.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from iclr.methods.common.history import History


class CausalBlock(nn.Module):
    """Two weight-norm causal convolutions (LeakyReLU) and a residual connection."""

    def __init__(self, c_in: int, c_out: int, kernel: int, dilation: int) -> None:
        super().__init__()
        self.pad = (kernel - 1) * dilation
        self.conv1 = weight_norm(nn.Conv1d(c_in, c_out, kernel, dilation=dilation))
        self.conv2 = weight_norm(nn.Conv1d(c_out, c_out, kernel, dilation=dilation))
        self.res = nn.Conv1d(c_in, c_out, 1) if c_in != c_out else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, c_in, L) → (B, c_out, L); left padding keeps every output causal."""
        y = F.leaky_relu(self.conv1(F.pad(x, (self.pad, 0))), 0.01)
        y = F.leaky_relu(self.conv2(F.pad(y, (self.pad, 0))), 0.01)
        return y + (x if self.res is None else self.res(x))


class CausalCNNEncoder(nn.Module):
    """``depth`` causal blocks (dilation 2^i) + a final block to ``reduced_size`` channels,
    max-pool over time, linear to ``embedding`` dimensions."""

    def __init__(
        self,
        in_channels: int = 1,
        channels: int = 40,
        depth: int = 3,
        reduced_size: int = 160,
        embedding: int = 80,
        kernel_size: int = 3,
    ) -> None:
        super().__init__()
        blocks = [
            CausalBlock(in_channels if i == 0 else channels, channels, kernel_size, 2**i)
            for i in range(depth)
        ]
        blocks.append(CausalBlock(channels, reduced_size, kernel_size, 2**depth))
        self.network = nn.Sequential(*blocks)
        self.linear = nn.Linear(reduced_size, embedding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, L) or (B, C, L) series → (B, embedding)."""
        if x.dim() == 2:
            x = x[:, None, :]
        return self.linear(self.network(x).amax(dim=2))


def triplet_loss(ref: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor) -> torch.Tensor:
    """ref, pos: (B, E); neg: (B, K, E) → −logσ(r·p) − mean_k logσ(−r·n_k), batch-mean."""
    positive = F.logsigmoid((ref * pos).sum(-1))
    negative = F.logsigmoid(-(neg * ref[:, None, :]).sum(-1)).mean(1)
    return -(positive + negative).mean()


def _gather(values: np.ndarray, rows: np.ndarray, starts: np.ndarray, length: int) -> torch.Tensor:
    pos = starts[..., None] + np.arange(length)
    return torch.from_numpy(np.ascontiguousarray(values[rows[..., None], pos]))


def sample_triplets(
    series: np.ndarray,
    lengths: np.ndarray,
    batch: int,
    negatives: int,
    max_len: int,
    rng: np.random.Generator,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One batch of (reference, positive, negatives) sub-series, Franceschi-style lengths.

    ``series`` is (N, T) and fully observed up to ``lengths`` (missing values filled)."""
    n = len(series)
    rows = rng.integers(0, n, batch)
    shortest = int(min(lengths[rows].min(), max_len))
    ref_len = int(rng.integers(1, shortest + 1))
    pos_len = int(rng.integers(1, ref_len + 1))
    ref_start = (rng.random(batch) * (lengths[rows] - ref_len + 1)).astype(np.int64)
    pos_start = ref_start + (rng.random(batch) * (ref_len - pos_len + 1)).astype(np.int64)
    # Negatives from other series (a different row whenever the panel has more than one).
    shift = rng.integers(1, max(n, 2), (batch, negatives))
    neg_rows = (rows[:, None] + shift) % n
    neg_len = int(rng.integers(1, min(int(lengths[neg_rows].min()), max_len) + 1))
    neg_start = (rng.random((batch, negatives)) * (lengths[neg_rows] - neg_len + 1)).astype(
        np.int64
    )
    return (
        _gather(series, rows, ref_start, ref_len),
        _gather(series, rows, pos_start, pos_len),
        _gather(series, neg_rows, neg_start, neg_len),
    )


def train_encoder(
    series: np.ndarray, lengths: np.ndarray, cfg: Any, seed: int, history_path: Path | None = None
) -> tuple[CausalCNNEncoder, dict[str, float]]:
    """Train the encoder on min-max-scaled training series (NaN filled by the last value)."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    encoder = CausalCNNEncoder(
        1,
        int(cfg.channels),
        int(cfg.depth),
        int(cfg.reduced_size),
        int(cfg.embedding),
        int(cfg.kernel_size),
    )
    opt = torch.optim.Adam(encoder.parameters(), lr=float(cfg.lr))
    steps_per_epoch = (
        max(len(series) // int(cfg.batch_size), 1)
        if cfg.get("batches_per_epoch") is None
        else int(cfg.batches_per_epoch)
    )
    start = time.perf_counter()
    losses = []
    history = History(history_path) if history_path else None
    for epoch in range(int(cfg.epochs)):
        epoch_losses = []
        for _ in range(steps_per_epoch):
            ref, pos, neg = sample_triplets(
                series, lengths, int(cfg.batch_size), int(cfg.negatives), int(cfg.max_len), rng
            )
            b, k, length = neg.shape
            loss = triplet_loss(
                encoder(ref), encoder(pos), encoder(neg.reshape(b * k, length)).reshape(b, k, -1)
            )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            epoch_losses.append(float(loss.detach()))
        losses.append(float(np.mean(epoch_losses)))
        if history is not None:
            history.write(
                epoch=epoch + 1, triplet_loss=losses[-1], seconds=time.perf_counter() - start
            )
    if history is not None:
        history.close()
    encoder.eval()
    return encoder, {
        "encoder_train_s": time.perf_counter() - start,
        "encoder_loss": losses[-1] if losses else float("nan"),
    }


def fill_missing(values: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Forward-fill NaN inside each series (then back-fill a leading gap), vectorised."""
    out = values.copy()
    t = np.arange(out.shape[1])[None, :]
    inside = t < lengths[:, None]
    valid = np.isfinite(out) & inside
    last = np.where(valid, t, -1)
    np.maximum.accumulate(last, axis=1, out=last)
    first = np.argmax(valid, axis=1)
    last = np.where(last < 0, first[:, None], last)
    out = np.take_along_axis(out, last, axis=1)
    return np.where(inside, out, np.nan).astype(np.float32)
