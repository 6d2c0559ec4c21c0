"""EBGAN baseline (Zhao, Mathieu, LeCun, ICLR 2017) for time-series windows.

The official PSA-GAN code scores a trained ``EBGAN_{target_len}_{dataset}`` model beside TimeGAN
(``models.py``) but ships neither its network nor its training code, so this is our own 1-D
version of the EBGAN recipe:

- the discriminator is an auto-encoder and its *energy* is the per-window reconstruction MSE,
  ``D(x) = mean_t (Dec(Enc(x))_t − x_t)²``;
- ``L_D = E[D(x)] + E[max(0, m − D(G(z)))]`` (hinge at the margin ``m``);
- ``L_G = E[D(G(z))] + λ_PT · PT(Enc(G(z)))``, the pulling-away term on the encoder's codes of
  the fake batch (a repelling regulariser against mode collapse).

Both networks read the same conditioning as the GRU-GAN baseline (series-id embedding + time
features per step; the generator also 1 Gaussian noise channel per step) and work at the target
length (no progressive growing, no attention). The generator's interface matches
:class:`~iclr.methods.psagan.models.Generator` (``depth`` / ``alpha`` / ``context`` are ignored),
so PSA-GAN's training loop and Context-FID / DeepAR scoring run unchanged.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from iclr.cli.errors import UserError
from iclr.methods.psagan.models import series_conditioning


def pulling_away(codes: torch.Tensor) -> torch.Tensor:
    """EBGAN's pulling-away term of a batch of codes ``(B, ...)``:
    ``1 / (B (B − 1)) · Σ_{i ≠ j} cos(s_i, s_j)²``; 0 for a batch of one."""
    s = F.normalize(codes.flatten(1), dim=1, eps=1e-8)
    b = s.shape[0]
    if b < 2:
        return codes.new_zeros(())
    gram = s @ s.T
    # The diagonal is 1 for any non-zero code; drop it by mask rather than by subtracting B so
    # an all-zero code (normalised to 0) does not make the term negative.
    off = ~torch.eye(b, dtype=torch.bool, device=codes.device)
    return gram[off].square().sum() / (b * (b - 1))


def ebgan_d_loss(
    energy_real: torch.Tensor, energy_fake: torch.Tensor, margin: float
) -> torch.Tensor:
    """``E[D(x)] + E[max(0, m − D(G(z)))]``: real energies down, fake ones up to the margin."""
    return energy_real.mean() + F.relu(margin - energy_fake).mean()


class ConvGenerator(nn.Module):
    """A small all-convolutional generator at the target length (EBGAN's is a DCGAN).

    Per step: series embedding + time features + 1 noise channel → three dilated Conv1d(k=3)
    layers (dilations 1, 2, 4, so each output step sees 15 steps of noise and features) with
    LeakyReLU → 1×1 conv → sigmoid, as the GRU-GAN's output in [0, 1] (the panels are min-max
    scaled on the training range). DCGAN's transposed-conv upsampling from one latent vector is
    not used: a window's conditioning is per step, so the generator keeps the window length.
    """

    max_depth = 0

    def __init__(
        self,
        target_len: int,
        num_time_features: int,
        cardinality: int,
        embedding_dim: int = 10,
        channels: int = 32,
    ) -> None:
        super().__init__()
        self.target_len = target_len
        self.context_length = 0
        self.embedding = nn.Embedding(cardinality, embedding_dim) if cardinality > 0 else None
        cond = num_time_features + (embedding_dim if self.embedding is not None else 0)
        layers: list[nn.Module] = []
        c_in = cond + 1
        for dilation in (1, 2, 4):
            layers += [
                nn.Conv1d(c_in, channels, 3, padding=dilation, dilation=dilation),
                nn.LeakyReLU(0.2),
            ]
            c_in = channels
        self.body = nn.Sequential(*layers, nn.Conv1d(channels, 1, 1))

    def forward(
        self,
        noise: torch.Tensor,
        time_feat: torch.Tensor,
        series: torch.Tensor,
        depth: int | None = None,
        alpha: float = 1.0,
        context: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """(B, L) noise, (B, F, L) features, (B,) ids → (B, L) series in [0, 1]."""
        x = torch.cat([series_conditioning(self.embedding, time_feat, series), noise[:, None]], 1)
        return torch.sigmoid(self.body(x))[:, 0]


class AutoEncoderDiscriminator(nn.Module):
    """EBGAN's discriminator: a Conv1d auto-encoder whose energy is the reconstruction MSE.

    Encoder: [series, embedding, time features] → Conv1d(k=3) → two stride-2 Conv1d(k=4)
    (length L/4, ``code_channels`` channels: the code the pulling-away term reads). Decoder:
    two ConvTranspose1d(k=4, stride 2) back to length L → Conv1d(k=3) → 1 channel, linear (an
    energy must be able to grow for fakes). LeakyReLU 0.2 throughout, no batch norm (EBGAN
    used it; here real and fake batches would be normalised apart). ``forward`` returns the
    energy, so the class also fits where a discriminator score is expected.
    """

    max_depth = 0
    energy_based = True

    def __init__(
        self,
        target_len: int,
        num_time_features: int,
        cardinality: int,
        embedding_dim: int = 10,
        channels: int = 32,
        code_channels: int = 4,
    ) -> None:
        super().__init__()
        if target_len % 4:
            raise UserError(
                f"method.target_len must be a multiple of 4 for the EBGAN auto-encoder, "
                f"got {target_len}"
            )
        self.target_len = target_len
        self.embedding = nn.Embedding(cardinality, embedding_dim) if cardinality > 0 else None
        cond = num_time_features + (embedding_dim if self.embedding is not None else 0)
        act = nn.LeakyReLU(0.2)
        self.encoder = nn.Sequential(
            nn.Conv1d(cond + 1, channels, 3, padding=1),
            act,
            nn.Conv1d(channels, channels, 4, stride=2, padding=1),
            act,
            nn.Conv1d(channels, code_channels, 4, stride=2, padding=1),
        )
        self.decoder = nn.Sequential(
            act,
            nn.ConvTranspose1d(code_channels, channels, 4, stride=2, padding=1),
            act,
            nn.ConvTranspose1d(channels, channels, 4, stride=2, padding=1),
            act,
            nn.Conv1d(channels, 1, 3, padding=1),
        )

    def energy_and_code(
        self, x: torch.Tensor, time_feat: torch.Tensor, series: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, L) series → (B,) reconstruction MSE and the (B, code_channels, L/4) code."""
        cond = series_conditioning(self.embedding, time_feat, series)
        code = self.encoder(torch.cat([x[:, None], cond], 1))
        recon = self.decoder(code)[:, 0]
        return (recon - x).square().mean(dim=1), code

    def forward(
        self,
        x: torch.Tensor,
        time_feat: torch.Tensor,
        series: torch.Tensor,
        depth: int | None = None,
        alpha: float = 1.0,
    ) -> torch.Tensor:
        """(B, L) series → (B,) energies (lower = more real)."""
        return self.energy_and_code(x, time_feat, series)[0]
