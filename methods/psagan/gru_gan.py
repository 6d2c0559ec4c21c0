"""GRU-GAN, "TimeGAN-lite": the paper's TimeGAN baseline without its latent machinery.

TimeGAN (Yoon et al., 2019) trains an embedding and a recovery network (autoencoder into a
latent space), a supervisor network with a supervised next-step loss, and runs the adversarial
game in the latent space. This baseline drops all of that: a GRU generator maps noise + time
features + series embedding straight to the series and a GRU discriminator scores it, trained
with the same LSGAN loss and moment loss (TimeGAN's generator has a moment loss too) and the same
training loop as PSA-GAN, at the target length only (no progressive growing, no attention).
The interface matches :class:`~iclr.methods.psagan.models.Generator` (``depth`` is ignored).
"""

from __future__ import annotations

import torch
from torch import nn


class GRUGenerator(nn.Module):
    """Noise + conditioning per step → stacked GRU → linear → series."""

    max_depth = 0

    def __init__(
        self,
        target_len: int,
        num_time_features: int,
        cardinality: int,
        embedding_dim: int = 10,
        hidden: int = 32,
        layers: int = 2,
        noise_dim: int = 1,
    ) -> None:
        super().__init__()
        self.target_len = target_len
        self.context_length = 0
        self.embedding = nn.Embedding(cardinality, embedding_dim) if cardinality > 0 else None
        cond = num_time_features + (embedding_dim if self.embedding is not None else 0)
        self.gru = nn.GRU(cond + noise_dim, hidden, layers, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(
        self,
        noise: torch.Tensor,
        time_feat: torch.Tensor,
        series: torch.Tensor,
        depth: int | None = None,
        alpha: float = 1.0,
        context: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """(B, L) noise, (B, F, L) features, (B,) ids → (B, L) series (sigmoid, in [0, 1] as
        TimeGAN's generator output)."""
        x = [time_feat.transpose(1, 2), noise[:, :, None]]
        if self.embedding is not None:
            x.insert(0, self.embedding(series)[:, None, :].expand(-1, noise.shape[1], -1))
        h, _ = self.gru(torch.cat(x, dim=2))
        return torch.sigmoid(self.head(h))[:, :, 0]


class GRUDiscriminator(nn.Module):
    """Series + conditioning per step → stacked GRU → per-step linear score, averaged."""

    max_depth = 0

    def __init__(
        self,
        target_len: int,
        num_time_features: int,
        cardinality: int,
        embedding_dim: int = 10,
        hidden: int = 32,
        layers: int = 2,
    ) -> None:
        super().__init__()
        self.target_len = target_len
        self.embedding = nn.Embedding(cardinality, embedding_dim) if cardinality > 0 else None
        cond = num_time_features + (embedding_dim if self.embedding is not None else 0)
        self.gru = nn.GRU(cond + 1, hidden, layers, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(
        self,
        x: torch.Tensor,
        time_feat: torch.Tensor,
        series: torch.Tensor,
        depth: int | None = None,
        alpha: float = 1.0,
    ) -> torch.Tensor:
        """(B, L) series → (B,) scores (TimeGAN's discriminator scores every step)."""
        parts = [time_feat.transpose(1, 2), x[:, :, None]]
        if self.embedding is not None:
            parts.insert(0, self.embedding(series)[:, None, :].expand(-1, x.shape[1], -1))
        h, _ = self.gru(torch.cat(parts, dim=2))
        return self.head(h)[:, :, 0].mean(dim=1)
