"""GRDA's encoder E(x, z), predictor F and discriminator trunk (official widths, no BatchNorm)."""

from __future__ import annotations

import torch
from torch import Tensor, nn


def mlp(widths: list[int], final_activation: bool = False) -> nn.Sequential:
    """Linear layers with ReLU between them (and after the last when ``final_activation``)."""
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        layers.append(nn.Linear(fan_in, fan_out))
        if final_activation or i < len(widths) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def init_weights(module: nn.Module, std: float) -> None:
    """Official initialisation: every Linear weight N(0, std), biases zero."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, mean=0.0, std=std)
            nn.init.zeros_(m.bias)


class Encoder(nn.Module):
    """E(x, z): x → h; z → h → h; concat → 3 × (2h → 2h) → h (ReLU between layers)."""

    def __init__(self, x_dim: int, z_dim: int, hidden: int) -> None:
        super().__init__()
        self.x_branch = mlp([x_dim, hidden], final_activation=True)
        self.z_branch = mlp([z_dim, hidden, hidden], final_activation=True)
        self.trunk = mlp([2 * hidden] * 4 + [hidden])

    def forward(self, x: Tensor, z: Tensor) -> Tensor:
        return self.trunk(torch.cat([self.x_branch(x), self.z_branch(z)], dim=-1))


class Predictor(nn.Module):
    """F: h → h → h → outputs. Classification returns log(softmax + 1e-4) as the official code
    (a floor on probabilities that bounds the NLL); regression returns the raw values."""

    def __init__(self, hidden: int, outputs: int, classification: bool) -> None:
        super().__init__()
        self.net = mlp([hidden, hidden, hidden, outputs])
        self.classification = classification

    def forward(self, e: Tensor) -> Tensor:
        out = self.net(e)
        return torch.log(torch.softmax(out, dim=-1) + 1e-4) if self.classification else out


def discriminator_trunk(in_dim: int, hidden: int, outputs: int) -> nn.Sequential:
    """D's body shared by all adversaries: 5 × (Linear h + ReLU), then Linear → outputs."""
    return mlp([in_dim] + [hidden] * 5 + [outputs])
