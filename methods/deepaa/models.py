"""Networks for the search and the evaluation: a small CNN (CPU analogue), Wide ResNets
(WRN-40-2 search model, WRN-28-10 evaluation, WRN-16-k on CPU) and ResNet-50 (ImageNet).

Every network normalises its input (per-channel mean/std of the dataset) as its first step, so
augmentations act on [0, 1] images, as the official ToTensor + Normalize after the PIL ops.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn


class Normalise(nn.Module):
    """(x − mean) / std per channel (buffers, so ``functional_call`` sees no parameters)."""

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(list(mean)).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(list(std)).view(1, -1, 1, 1))

    def forward(self, x: Tensor) -> Tensor:
        return (x - self.mean) / self.std


class SmallCNN(nn.Module):
    """Three 3×3 conv-BN-ReLU blocks (2× max-pool after the first two), global average pool,
    linear head: 24k parameters at width 16 (the brief's ≤ 100k CPU model)."""

    def __init__(self, in_channels: int, num_classes: int, width: int = 16) -> None:
        super().__init__()
        w = width
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, w, 3, padding=1, bias=False),
            nn.BatchNorm2d(w),
            nn.ReLU(),
            nn.MaxPool2d(2, ceil_mode=True),
            nn.Conv2d(w, 2 * w, 3, padding=1, bias=False),
            nn.BatchNorm2d(2 * w),
            nn.ReLU(),
            nn.MaxPool2d(2, ceil_mode=True),
            nn.Conv2d(2 * w, 4 * w, 3, padding=1, bias=False),
            nn.BatchNorm2d(4 * w),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.head = nn.Linear(4 * w, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))


class _WideBlock(nn.Module):
    """Pre-activation wide basic block (BN-ReLU-conv ×2, 1×1 shortcut when the shape changes)."""

    def __init__(self, cin: int, cout: int, stride: int, dropout: float) -> None:
        super().__init__()
        self.bn1, self.bn2 = nn.BatchNorm2d(cin), nn.BatchNorm2d(cout)
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.shortcut = (
            nn.Conv2d(cin, cout, 1, stride, bias=False) if stride != 1 or cin != cout else None
        )

    def forward(self, x: Tensor) -> Tensor:
        o = torch.relu(self.bn1(x))
        skip = x if self.shortcut is None else self.shortcut(o)
        o = self.conv2(self.drop(torch.relu(self.bn2(self.conv1(o)))))
        return o + skip


class WideResNet(nn.Module):
    """WRN-depth-k (Zagoruyko & Komodakis): (depth − 4)/6 blocks per stage, widths 16k/32k/64k."""

    def __init__(
        self, depth: int, widen: int, in_channels: int, num_classes: int, dropout: float = 0.0
    ) -> None:
        super().__init__()
        if (depth - 4) % 6:
            from iclr.cli.errors import UserError

            raise UserError(f"WRN depth must be 6n + 4 (16, 28, 40, ...), got {depth}")
        n = (depth - 4) // 6
        widths = [16, 16 * widen, 32 * widen, 64 * widen]
        layers: list[nn.Module] = [nn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=False)]
        for stage in range(3):
            for i in range(n):
                cin = widths[stage] if i == 0 else widths[stage + 1]
                stride = 2 if stage > 0 and i == 0 else 1
                layers.append(_WideBlock(cin, widths[stage + 1], stride, dropout))
        layers += [nn.BatchNorm2d(widths[3]), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(widths[3], num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))


class _Bottleneck(nn.Module):
    def __init__(self, cin: int, mid: int, stride: int) -> None:
        super().__init__()
        cout = 4 * mid
        self.body = nn.Sequential(
            nn.Conv2d(cin, mid, 1, bias=False),
            nn.BatchNorm2d(mid),
            nn.ReLU(),
            nn.Conv2d(mid, mid, 3, stride, 1, bias=False),
            nn.BatchNorm2d(mid),
            nn.ReLU(),
            nn.Conv2d(mid, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        )
        self.shortcut = (
            nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
            if stride != 1 or cin != cout
            else nn.Identity()
        )

    def forward(self, x: Tensor) -> Tensor:
        return torch.relu(self.body(x) + self.shortcut(x))


class ResNet(nn.Module):
    """Bottleneck ResNet for ImageNet (ResNet-50: blocks 3, 4, 6, 3)."""

    def __init__(self, blocks: Sequence[int], in_channels: int, num_classes: int) -> None:
        super().__init__()
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, 64, 7, 2, 3, bias=False),
            nn.BatchNorm2d(64),
            nn.ReLU(),
            nn.MaxPool2d(3, 2, 1),
        ]
        cin = 64
        for stage, count in enumerate(blocks):
            mid = 64 * 2**stage
            for i in range(count):
                layers.append(_Bottleneck(cin, mid, 2 if stage > 0 and i == 0 else 1))
                cin = 4 * mid
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(cin, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))


def build_model(
    spec: Any, in_channels: int, num_classes: int, mean: Sequence[float], std: Sequence[float]
) -> nn.Module:
    """A network from a config node ``{name: cnn|wrn|resnet50, width, depth, widen}``,
    preceded by input normalisation."""
    name = str(spec.name)
    if name == "cnn":
        net: nn.Module = SmallCNN(in_channels, num_classes, int(spec.get("width", 16)))
    elif name == "wrn":
        net = WideResNet(
            int(spec.depth),
            int(spec.widen),
            in_channels,
            num_classes,
            float(spec.get("dropout", 0.0)),
        )
    else:  # resnet50 (the schema's options allow nothing else)
        net = ResNet((3, 4, 6, 3), in_channels, num_classes)
    return nn.Sequential(Normalise(mean, std), net)
