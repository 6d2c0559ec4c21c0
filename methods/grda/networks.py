"""GRDA's encoder E(x, z), predictor F and discriminator trunk (official widths, no BatchNorm)."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class MLP(nn.Sequential):
    """A Linear/ReLU stack whose output is fp32 also under bf16 autocast (``method.precision``),
    so that every loss downstream reduces in fp32; in fp32, ``.float()`` returns the output
    itself (no copy, no change)."""

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(x).float()


def mlp(widths: list[int], final_activation: bool = False) -> MLP:
    """Linear layers with ReLU between them (and after the last when ``final_activation``)."""
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        layers.append(nn.Linear(fan_in, fan_out))
        if final_activation or i < len(widths) - 2:
            layers.append(nn.ReLU())
    return MLP(*layers)


def init_weights(module: nn.Module, std: float) -> None:
    """Official initialisation: every Linear weight N(0, std), biases zero."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, mean=0.0, std=std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


class Encoder(nn.Module):
    """E(x, z): x → h; z → h → h; concat → 3 × (2h → 2h) → h (ReLU between layers).

    The official first trunk layer W·[h_x; h_z] + b is held as its two halves, W_x·h_x + b and
    W_z·h_z (same parameters, function and N(0, std) init), so that ``z`` may be given once per
    domain and broadcast over the batch ((D, 1, z_dim) beside x's (D, B, x_dim)): the z branch
    and W_z·h_z then run once per domain instead of once per sample.
    """

    def __init__(self, x_dim: int, z_dim: int, hidden: int) -> None:
        super().__init__()
        self.x_branch = mlp([x_dim, hidden], final_activation=True)
        self.z_branch = mlp([z_dim, hidden, hidden], final_activation=True)
        self.join_x = nn.Linear(hidden, 2 * hidden)
        self.join_z = nn.Linear(hidden, 2 * hidden, bias=False)
        self.trunk = mlp([2 * hidden] * 3 + [hidden])

    def forward(self, x: Tensor, z: Tensor) -> Tensor:
        joined = self.join_x(self.x_branch(x)) + self.join_z(self.z_branch(z))
        return self.trunk(torch.relu(joined))


class Predictor(nn.Module):
    """F: h → h → h → outputs. Classification returns log(softmax + 1e-4) as the official code
    (a floor on probabilities that bounds the NLL); regression returns the raw values."""

    def __init__(self, hidden: int, outputs: int, classification: bool) -> None:
        super().__init__()
        self.net = mlp([hidden, hidden, hidden, outputs])
        self.classification = classification

    def forward(self, e: Tensor) -> Tensor:
        out = self.net(e)
        return torch.log(self.probabilities(out) + 1e-4) if self.classification else out

    @staticmethod
    def probabilities(logits: Tensor) -> Tensor:
        return torch.softmax(logits, dim=-1)


def discriminator_trunk(in_dim: int, hidden: int, outputs: int) -> MLP:
    """D's body shared by all adversaries: 5 × (Linear h + ReLU), then Linear → outputs."""
    return mlp([in_dim] + [hidden] * 5 + [outputs])
