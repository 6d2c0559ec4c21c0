"""The model zoo, in pure torch (torchvision does not import beside this torch build).

- ``VanillaCNN``: the official kit's example regressor (disentanglement_lib encoder): conv 4×4
  stride 2 ×4 (32-32-64-64), conv 4×4 → 256, linear head, ReLUs.
- ``MLP``: pixels → 5 hidden layers of 256 (ReLU) → factors (the read-out's shape; the paper's
  supervised MLP settings are not available).
- ``ResNet`` 18 / 50: torchvision's layout and parameter names (``conv1``, ``bn1``,
  ``layer1..4``, ``fc``), so an ImageNet state dict loads into ``resnet(50)`` unchanged.
- ``DenseNet`` 121: growth 32, blocks (6, 12, 24, 16), bottleneck 4, compression 0.5.
- ``BetaVAE``: the VanillaCNN encoder to 2×10 latents and the mirrored transposed-conv
  decoder (disentanglement_lib's conv encoder/decoder).
- ``PCL``: permutation-contrastive learning on transition pairs, the same encoder to 10 features.
- ``ReadOut``: a frozen representation + MLP with 5 hidden layers of 256 (supplementary code).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def mlp(inputs: int, outputs: int, hidden: int = 256, layers: int = 5) -> nn.Sequential:
    """``layers`` hidden ReLU layers of width ``hidden``, then a linear output."""
    dims = [inputs, *[hidden] * layers]
    blocks: list[nn.Module] = []
    for a, b in zip(dims[:-1], dims[1:], strict=True):
        blocks += [nn.Linear(a, b), nn.ReLU(True)]
    return nn.Sequential(*blocks, nn.Linear(dims[-1], outputs))


class MLP(nn.Module):
    """Fully connected regressor on flattened pixels."""

    def __init__(self, outputs: int, channels: int, size: int = 64, hidden: int = 256) -> None:
        super().__init__()
        self.net = mlp(channels * size * size, outputs, hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.flatten(1))


def conv_encoder(channels: int, outputs: int) -> nn.Sequential:
    """disentanglement_lib conv encoder at 64×64: 4 × (4×4 stride 2), 4×4 conv to 256, linear."""
    return nn.Sequential(
        nn.Conv2d(channels, 32, 4, 2, 1),
        nn.ReLU(True),
        nn.Conv2d(32, 32, 4, 2, 1),
        nn.ReLU(True),
        nn.Conv2d(32, 64, 4, 2, 1),
        nn.ReLU(True),
        nn.Conv2d(64, 64, 4, 2, 1),
        nn.ReLU(True),
        nn.Conv2d(64, 256, 4, 1),
        nn.ReLU(True),
        nn.Flatten(),
        nn.Linear(256, outputs),
    )


class VanillaCNN(nn.Module):
    """The official kit's ``VanillaCNN`` (same layers, same order)."""

    def __init__(self, outputs: int, channels: int) -> None:
        super().__init__()
        self.net = conv_encoder(channels, outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inp: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inp, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = _shortcut(inp, planes, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + (x if self.downsample is None else self.downsample(x)))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inp: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inp, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.downsample = _shortcut(inp, planes * 4, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return F.relu(out + (x if self.downsample is None else self.downsample(x)))


def _shortcut(inp: int, out: int, stride: int) -> nn.Module | None:
    if stride == 1 and inp == out:
        return None
    return nn.Sequential(nn.Conv2d(inp, out, 1, stride, bias=False), nn.BatchNorm2d(out))


RESNET_LAYERS = {18: (BasicBlock, (2, 2, 2, 2)), 50: (Bottleneck, (3, 4, 6, 3))}


class ResNet(nn.Module):
    """ResNet-18/50 with the ImageNet stem (7×7 stride 2 + max-pool), global pool, linear."""

    def __init__(self, depth: int, outputs: int, channels: int) -> None:
        super().__init__()
        block, counts = RESNET_LAYERS[depth]
        self.conv1 = nn.Conv2d(channels, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        inp, layers = 64, []
        for i, (planes, count) in enumerate(zip((64, 128, 256, 512), counts, strict=True)):
            blocks = []
            for j in range(count):
                blocks.append(block(inp, planes, 2 if (i > 0 and j == 0) else 1))
                inp = planes * block.expansion
            layers.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.fc = nn.Linear(inp, outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class _DenseLayer(nn.Module):
    def __init__(self, inp: int, growth: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.BatchNorm2d(inp),
            nn.ReLU(True),
            nn.Conv2d(inp, 4 * growth, 1, bias=False),
            nn.BatchNorm2d(4 * growth),
            nn.ReLU(True),
            nn.Conv2d(4 * growth, growth, 3, 1, 1, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, self.net(x)], 1)


class DenseNet(nn.Module):
    """DenseNet-121 (growth 32, blocks 6-12-24-16, compression 0.5), ImageNet stem."""

    def __init__(self, outputs: int, channels: int, growth: int = 32) -> None:
        super().__init__()
        layers: list[nn.Module] = [
            nn.Conv2d(channels, 64, 7, 2, 3, bias=False),
            nn.BatchNorm2d(64),
            nn.ReLU(True),
            nn.MaxPool2d(3, 2, 1),
        ]
        width = 64
        for i, count in enumerate((6, 12, 24, 16)):
            for _ in range(count):
                layers.append(_DenseLayer(width, growth))
                width += growth
            if i < 3:
                layers += [
                    nn.BatchNorm2d(width),
                    nn.ReLU(True),
                    nn.Conv2d(width, width // 2, 1, bias=False),
                    nn.AvgPool2d(2),
                ]
                width //= 2
        layers += [nn.BatchNorm2d(width), nn.ReLU(True)]
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(width, outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.adaptive_avg_pool2d(self.features(x), 1)
        return self.classifier(torch.flatten(x, 1))


class BetaVAE(nn.Module):
    """β-VAE with the disentanglement_lib conv encoder / decoder (64×64, ``latents`` dims)."""

    def __init__(self, channels: int, latents: int = 10) -> None:
        super().__init__()
        self.latents = latents
        self.encoder = conv_encoder(channels, 2 * latents)
        self.decoder = nn.Sequential(
            nn.Linear(latents, 256),
            nn.ReLU(True),
            nn.Unflatten(1, (256, 1, 1)),
            nn.ConvTranspose2d(256, 64, 4),
            nn.ReLU(True),
            nn.ConvTranspose2d(64, 64, 4, 2, 1),
            nn.ReLU(True),
            nn.ConvTranspose2d(64, 32, 4, 2, 1),
            nn.ReLU(True),
            nn.ConvTranspose2d(32, 32, 4, 2, 1),
            nn.ReLU(True),
            nn.ConvTranspose2d(32, channels, 4, 2, 1),
        )

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior mean and log-variance."""
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        return mu, logvar

    def represent(self, x: torch.Tensor) -> torch.Tensor:
        """The representation a read-out sees: the posterior mean."""
        return self.encode(x)[0]

    def loss(self, x: torch.Tensor, beta: float) -> tuple[torch.Tensor, torch.Tensor]:
        """(negative β-ELBO, KL) per batch: Bernoulli reconstruction (logits) + β·KL."""
        mu, logvar = self.encode(x)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        logits = self.decoder(z)
        recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / len(x)
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1).mean()
        return recon + beta * kl, kl


class PCL(nn.Module):
    """Permutation-contrastive learning (Hyvärinen & Morioka, 2017) on image pairs.

    The conv encoder h maps an image to ``latents`` features; a logistic regression with
    ``log-odds = Σ_i -softplus(a_i)·(h_i(x) - h_i(x'))² + b_i`` tells true pairs (x, x') — two
    images one sparse transition apart — from permuted ones (x, x'') with x'' from another pair.
    """

    def __init__(self, channels: int, latents: int = 10) -> None:
        super().__init__()
        self.latents = latents
        self.encoder = conv_encoder(channels, latents)
        self.scale = nn.Parameter(torch.zeros(latents))
        self.bias = nn.Parameter(torch.zeros(latents))

    def represent(self, x: torch.Tensor) -> torch.Tensor:
        """The learnt features h(x)."""
        return self.encoder(x)

    def loss(self, x: torch.Tensor, partner: torch.Tensor) -> torch.Tensor:
        """Logistic loss of true pairs vs pairs with the partners rolled by one in the batch."""
        h, g = self.encoder(x), self.encoder(partner)

        def logit(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            return (-F.softplus(self.scale) * (a - b) ** 2 + self.bias).sum(1)

        true, fake = logit(h, g), logit(h, g.roll(1, dims=0))
        ones, zeros = torch.ones_like(true), torch.zeros_like(fake)
        return F.binary_cross_entropy_with_logits(torch.cat([true, fake]), torch.cat([ones, zeros]))


class ReadOut(nn.Module):
    """A frozen representation (``represent``) + a trained MLP read-out (5 × 256)."""

    def __init__(self, vae: BetaVAE | PCL, outputs: int) -> None:
        super().__init__()
        self.vae = vae.eval().requires_grad_(False)
        self.head = mlp(vae.latents, outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            z = self.vae.represent(x)
        return self.head(z)


def build(model: str, outputs: int, channels: int, size: int = 64) -> nn.Module:
    """A supervised regressor by name: mlp, cnn, resnet18, resnet50, densenet121."""
    if model == "mlp":
        return MLP(outputs, channels, size)
    if model == "cnn":
        return VanillaCNN(outputs, channels)
    if model in ("resnet18", "resnet50"):
        return ResNet(int(model[6:]), outputs, channels)
    return DenseNet(outputs, channels)  # densenet121
