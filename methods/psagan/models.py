"""The progressive generator and discriminator of PSA-GAN (official ``_model.py``).

Every block is a spectral-norm Conv1d (kernel 3) + LeakyReLU + residual self-attention
``x + γ·Conv1x1(Attn(x))`` with γ initialised at 0; the attention's Q/K/V and output 1×1 convs
are not spectral-normed (as upstream). The generator reads noise, time features and a series
embedding at the target length, average-pools them to length 8 and doubles the length per
stage (nearest-neighbour upsampling); the discriminator mirrors it with average-pool halving.
A new stage is faded in by ``alpha·new + (1 − alpha)·old`` (ProGAN). With ``context_length`` > 0
(PSA-GAN-C) each generator stage adds an MLP of the last ``context_length`` observations.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


def series_conditioning(
    embedding: nn.Embedding | None, time_feat: torch.Tensor, series: torch.Tensor
) -> torch.Tensor:
    """(B, cond, L): the series-id embedding broadcast over time, then the time features."""
    if embedding is None:
        return time_feat
    emb = embedding(series)[:, :, None].expand(-1, -1, time_feat.shape[-1])
    return torch.cat([emb, time_feat], dim=1)


class SelfAttention(nn.Module):
    """Residual SAGAN attention over time: one batched (B, L, L) softmax per call."""

    def __init__(self, channels: int, key_features: int = 1, value_features: int = 1) -> None:
        super().__init__()
        self.query = nn.Conv1d(channels, key_features, 1)
        self.key = nn.Conv1d(channels, key_features, 1)
        self.value = nn.Conv1d(channels, value_features, 1)
        self.out = nn.Conv1d(value_features, channels, 1)
        self.gamma = nn.Parameter(torch.zeros(()))
        self.scale = 1.0 / math.sqrt(key_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, C, L) → (B, C, L)."""
        q, k, v = self.query(x), self.key(x), self.value(x)
        attn = torch.softmax(torch.bmm(q.transpose(1, 2), k) * self.scale, dim=2)  # (B, L, L)
        h = torch.bmm(v, attn.transpose(1, 2))  # (B, Cv, L): h[:, :, i] = Σ_j A_ij v_j
        return x + self.gamma * self.out(h)


class Block(nn.Module):
    """Spectral-norm Conv1d(k=3) + LeakyReLU + (optional) residual self-attention."""

    def __init__(
        self,
        c_in: int,
        c_out: int,
        attention: bool = True,
        key_features: int = 1,
        value_features: int = 1,
    ) -> None:
        super().__init__()
        self.conv = spectral_norm(nn.Conv1d(c_in, c_out, 3, padding=1))
        self.attention = SelfAttention(c_out, key_features, value_features) if attention else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, c_in, L) → (B, c_out, L)."""
        y = F.leaky_relu(self.conv(x), 0.01)
        return self.attention(y) if self.attention is not None else y


def num_stages(target_len: int) -> int:
    """Blocks from length 8 to ``target_len`` (a power of two ≥ 8): 1 + log2(target_len / 8)."""
    if target_len < 8 or target_len & (target_len - 1):
        from iclr.cli.errors import UserError

        raise UserError(f"method.target_len must be a power of two >= 8, got {target_len}")
    return int(math.log2(target_len)) - 2


def soft_min_max(y: torch.Tensor, alpha: float = 100.0) -> torch.Tensor:
    """Per-window min-max scaling with softmax-weighted min and max (``scaling="local"``)."""
    low = (y * torch.softmax(-alpha * y, dim=-1)).sum(-1, keepdim=True)
    high = (y * torch.softmax(alpha * y, dim=-1)).sum(-1, keepdim=True)
    return (y - low) / (high - low + 1e-8)


class Generator(nn.Module):
    """Progressive generator: ``forward(noise, time_feat, series, depth, alpha, context)``.

    ``depth`` ∈ [0, max_depth] selects the output length ``8·2^depth``; ``alpha`` < 1 fades the
    newest stage in against the 1×1 skip conv of the previous stage's upsampled features.
    """

    def __init__(
        self,
        target_len: int,
        num_time_features: int,
        cardinality: int,
        embedding_dim: int = 10,
        channels: int = 32,
        attention: bool = True,
        context_length: int = 0,
        key_features: int = 1,
        value_features: int = 1,
        scaling: str = "global",
    ) -> None:
        super().__init__()
        self.target_len = target_len
        self.max_depth = num_stages(target_len) - 1
        self.embedding = nn.Embedding(cardinality, embedding_dim) if cardinality > 0 else None
        cond = num_time_features + (embedding_dim if self.embedding is not None else 0)
        self.scaling = scaling
        self.context_length = context_length
        self.initial = Block(cond + 1, channels, attention, key_features, value_features)
        self.blocks = nn.ModuleList(
            Block(channels + cond, channels, attention, key_features, value_features)
            for _ in range(self.max_depth)
        )
        self.skips = nn.ModuleList(nn.Conv1d(channels, channels, 1) for _ in range(self.max_depth))
        self.to_series = spectral_norm(nn.Conv1d(channels, 1, 1))
        self.mlps = nn.ModuleList(
            nn.Sequential(
                nn.Linear(context_length + channels, context_length // 2 + channels),
                nn.LeakyReLU(0.01),
                nn.Linear(context_length // 2 + channels, channels),
            )
            for _ in range(self.max_depth if context_length > 0 else 0)
        )

    def conditioning(self, time_feat: torch.Tensor, series: torch.Tensor) -> torch.Tensor:
        """(B, cond, L): series embedding broadcast over time, then the time features."""
        return series_conditioning(self.embedding, time_feat, series)

    def forward(
        self,
        noise: torch.Tensor,
        time_feat: torch.Tensor,
        series: torch.Tensor,
        depth: int | None = None,
        alpha: float = 1.0,
        context: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """(B, L) noise, (B, F, L) features, (B,) ids → (B, 8·2^depth) series."""
        depth = self.max_depth if depth is None else depth
        cond = self.conditioning(time_feat, series)
        x = torch.cat([cond, noise[:, None, :]], dim=1)
        y = self.initial(F.avg_pool1d(x, self.target_len // 8))
        previous = y
        for stage in range(depth):
            y = F.interpolate(y, scale_factor=2, mode="nearest")
            previous = y
            if self.context_length > 0 and context is not None:
                ctx = context[:, -self.context_length :, None].expand(-1, -1, y.shape[-1])
                y = y + self.mlps[stage](torch.cat([ctx, y], 1).transpose(1, 2)).transpose(1, 2)
            pooled = F.avg_pool1d(cond, self.target_len // y.shape[-1])
            y = self.blocks[stage](torch.cat([pooled, y], dim=1))
        out = self.to_series(y)
        if depth > 0 and alpha < 1.0:
            out = alpha * out + (1 - alpha) * self.to_series(self.skips[depth - 1](previous))
        out = out[:, 0]
        return soft_min_max(out) if self.scaling == "local" else out


class Discriminator(nn.Module):
    """Progressive discriminator: ``forward(x, time_feat, series, depth, alpha)`` → (B,) scores.

    ``x`` has the current stage length; the features arrive at the target length and are
    average-pooled to it. The newest (outermost) block fades in against the pooled input.
    """

    def __init__(
        self,
        target_len: int,
        num_time_features: int,
        cardinality: int,
        embedding_dim: int = 10,
        channels: int = 32,
        attention: bool = True,
        key_features: int = 1,
        value_features: int = 1,
    ) -> None:
        super().__init__()
        self.target_len = target_len
        self.max_depth = num_stages(target_len) - 1
        self.embedding = nn.Embedding(cardinality, embedding_dim) if cardinality > 0 else None
        cond = num_time_features + (embedding_dim if self.embedding is not None else 0)
        self.from_series = nn.Sequential(
            spectral_norm(nn.Conv1d(cond + 1, channels, 1)), nn.LeakyReLU(0.01)
        )
        # blocks[i] works at length target_len / 2^i and halves it afterwards.
        self.blocks = nn.ModuleList(
            Block(channels, channels, attention, key_features, value_features)
            for _ in range(self.max_depth)
        )
        self.last = nn.Sequential(
            Block(channels, channels, attention, key_features, value_features),
            spectral_norm(nn.Conv1d(channels, 1, 1)),
            nn.LeakyReLU(0.01),
        )
        self.fc = spectral_norm(nn.Linear(8, 1))

    def forward(
        self,
        x: torch.Tensor,
        time_feat: torch.Tensor,
        series: torch.Tensor,
        depth: int | None = None,
        alpha: float = 1.0,
    ) -> torch.Tensor:
        """(B, L_stage) series → (B,) scores."""
        depth = self.max_depth if depth is None else depth
        if self.embedding is not None:
            emb = self.embedding(series)[:, :, None].expand(-1, -1, time_feat.shape[-1])
            time_feat = torch.cat([emb, time_feat], dim=1)
        length = x.shape[-1]
        cond = F.avg_pool1d(time_feat, self.target_len // length)
        h = self.from_series(torch.cat([cond, x[:, None, :]], dim=1))
        first = self.max_depth - depth
        for i, block in enumerate(self.blocks[first:]):
            h = F.avg_pool1d(block(h), 2)
            if i == 0 and depth > 0 and alpha < 1.0:
                old = self.from_series(
                    torch.cat([F.avg_pool1d(cond, 2), F.avg_pool1d(x, 2)[:, None, :]], dim=1)
                )
                h = alpha * h + (1 - alpha) * old
        return self.fc(self.last(h)[:, 0])[:, 0]
