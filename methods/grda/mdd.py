"""MDD (margin disparity discrepancy, Zhang et al., 2019) as in GRDA's baselines.

An auxiliary predictor F' agrees with F's (detached) predictions on source samples and
disagrees on target samples: L = (λ_src·NLL(F'(e_s), ŷ_s) + λ_tgt·NLL(log(1 − p'(e_t)), ŷ_t)) /
(λ_src + λ_tgt) with p' F'’s softmax (the official target term, log(1 − p' + 1e-10)); F'
minimises L, the encoder maximises it. For regression (TPT-48, which the
official code does not cover) the agreement probability of a sample is exp(−‖F'(e) − F(e)‖²/k)
over its k outputs, used in place of F'’s probability of F's class: our adaptation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from iclr.methods.grda.adversary import Adversary
from iclr.methods.grda.batches import DomainTensors
from iclr.methods.grda.networks import Predictor
from iclr.methods.grda.training import train_and_evaluate

EPS = 1e-10


class MarginDisparity(Adversary):
    """The adversarial head F' and its disparity loss."""

    needs_predictions = True

    def __init__(
        self, hidden: int, outputs: int, classification: bool, lambda_src: float, lambda_tgt: float
    ) -> None:
        super().__init__()
        self.head = Predictor(hidden, outputs, classification)
        self.classification = classification
        self.lambda_src, self.lambda_tgt = lambda_src, lambda_tgt

    def terms(self, e: Tensor, out: Tensor) -> tuple[Tensor, Tensor]:
        """Per-sample (source agreement, target disparity) losses against F's answer.

        Classification, as the official code: −log(p' + 1e-4) (the head's floored
        log-probability of F's class) and −log(1 − p' + 1e-10) with p' the plain softmax.
        Regression: the Gaussian agreement a = −‖F'(e) − F(e)‖²/k, then −a and −log(1 − eᵃ).
        """
        if self.classification:
            answer = out.detach().argmax(-1, keepdim=True)
            p = self.head.probabilities(self.head.net(e)).gather(-1, answer).squeeze(-1)
            return -torch.log(p + 1e-4), -torch.log(1 - p + EPS)
        agree = -(self.head(e) - out.detach()).pow(2).mean(-1)
        return -agree, -torch.log((1 - agree.exp()).clamp_min(0) + EPS)

    def loss(self, e: Tensor, out: Tensor | None, data: DomainTensors) -> Tensor:
        agree, disparity = self.terms(e, out)
        src = agree[data.is_source].mean()
        tgt = disparity[~data.is_source].mean()
        return (self.lambda_src * src + self.lambda_tgt * tgt) / (self.lambda_src + self.lambda_tgt)


def make(method: Any, hidden: int, outputs: int, classification: bool, num_domains: int):
    return MarginDisparity(
        hidden, outputs, classification, float(method.lambda_src), float(method.lambda_tgt)
    )


def run(cfg: Any, out_dir: Path, device: torch.device) -> dict[str, float]:
    """Method ``mdd``."""
    return train_and_evaluate(cfg, out_dir, device, make)
