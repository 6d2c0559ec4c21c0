"""One training stage of a cycle: the cross-encoder on bi pseudo-labels, or the bi-encoder on
cross pseudo-labels, with the dev (STS-B dev) Spearman checked every ``eval_steps`` steps and at
each epoch's end and the best checkpoint kept, as the official code does through
sentence-transformers 2.0's ``fit`` (AdamW, weight decay 0.01 except biases and LayerNorm,
linear warm-up then linear decay, gradient norm clipped at 1).

The losses are sentence-transformers': ``CosineSimilarityLoss`` (MSE between cos(u, v) and the
label) for the bi-encoder and ``BinaryCrossEntropyLoss`` (BCE with logits on soft labels, the
CrossEncoder default for one output) for the cross-encoder.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from iclr.methods.common.history import History
from iclr.methods.transencoder.data import EvalSet
from iclr.methods.transencoder.models import snapshot

NO_DECAY = ("bias", "LayerNorm.bias", "LayerNorm.weight")


@dataclass(frozen=True)
class StageConfig:
    """Optimisation settings of one stage (``method.cross`` / ``method.bi``)."""

    epochs: int
    batch_size: int
    lr: float
    warmup_ratio: float
    eval_steps: int
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    amp: bool = True  # mixed precision on CUDA only (the CPU always trains in float32)

    @classmethod
    def from_cfg(cls, cfg: Any) -> StageConfig:
        """From a ``method.bi`` / ``method.cross`` config node."""
        return cls(
            epochs=int(cfg.epochs),
            batch_size=int(cfg.batch_size),
            lr=float(cfg.lr),
            warmup_ratio=float(cfg.warmup_ratio),
            eval_steps=int(cfg.eval_steps),
            weight_decay=float(cfg.get("weight_decay", 0.01)),
            max_grad_norm=float(cfg.get("max_grad_norm", 1.0)),
            amp=bool(cfg.get("amp", True)),
        )


def _optimizer(model: torch.nn.Module, lr: float, weight_decay: float) -> torch.optim.AdamW:
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    groups = [
        {"params": [p for n, p in named if not any(k in n for k in NO_DECAY)]},
        {"params": [p for n, p in named if any(k in n for k in NO_DECAY)], "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=lr, weight_decay=weight_decay)


def fit(
    model: torch.nn.Module,
    batch_loss: Callable[[torch.Tensor], torch.Tensor],
    n_examples: int,
    cfg: StageConfig,
    dev_score: Callable[[], float],
    history: History | None,
    tag: dict[str, Any],
    seed: int,
) -> tuple[float, int]:
    """Train ``model`` on ``batch_loss(indices)`` and leave it at its best dev checkpoint.

    Returns (best dev score, number of optimiser steps)."""
    from transformers import get_linear_schedule_with_warmup

    device = next(model.parameters()).device
    steps_per_epoch = math.ceil(n_examples / cfg.batch_size)
    total = steps_per_epoch * cfg.epochs
    optimizer = _optimizer(model, cfg.lr, cfg.weight_decay)
    schedule = get_linear_schedule_with_warmup(optimizer, int(total * cfg.warmup_ratio), total)
    use_amp = cfg.amp and device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    generator = torch.Generator().manual_seed(seed)
    best, best_state, step, losses = -math.inf, None, 0, []
    start = time.perf_counter()

    def evaluate(epoch: int) -> None:
        nonlocal best, best_state
        model.eval()
        score = dev_score()
        model.train()
        if score > best:
            best, best_state = score, snapshot(model)
        if history is not None:
            history.write(
                **tag,
                epoch=epoch,
                step=step,
                train_loss=float(np.mean(losses)) if losses else float("nan"),
                dev_spearman=score,
                seconds=time.perf_counter() - start,
            )
        losses.clear()

    model.train()
    for epoch in range(cfg.epochs):
        order = torch.randperm(n_examples, generator=generator)
        for begin in range(0, n_examples, cfg.batch_size):
            with torch.autocast(device.type, dtype=torch.float16, enabled=use_amp):
                loss = batch_loss(order[begin : begin + cfg.batch_size])
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
            scaler.step(optimizer)
            scaler.update()
            optimizer.zero_grad(set_to_none=True)
            schedule.step()
            step += 1
            losses.append(float(loss.detach()))
            if cfg.eval_steps > 0 and step % cfg.eval_steps == 0 and step % steps_per_epoch:
                evaluate(epoch)
        evaluate(epoch)
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return best, step


def train_cross(
    model: Any,
    s1: Sequence[str],
    s2: Sequence[str],
    labels: np.ndarray,
    dev: EvalSet,
    cfg: StageConfig,
    history: History | None = None,
    tag: dict[str, Any] | None = None,
    seed: int = 0,
    eval_batch_size: int = 64,
) -> tuple[float, int]:
    """Train a CrossEncoder on soft ``labels`` of the pairs in **both orders** (as upstream);
    returns (best STS-B dev Spearman x100, steps)."""
    from sentence_transformers.cross_encoder.evaluation import CrossEncoderCorrelationEvaluator
    from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss

    a = [*s1, *s2]
    b = [*s2, *s1]
    y = torch.tensor(np.concatenate([labels, labels]), dtype=torch.float32)
    loss_fn = BinaryCrossEntropyLoss(model)
    evaluator = CrossEncoderCorrelationEvaluator(
        [list(p) for p in zip(dev.s1, dev.s2, strict=True)],
        list(dev.gold),
        name="stsb_dev",
        batch_size=eval_batch_size,
        show_progress_bar=False,
        write_csv=False,
    )

    def batch_loss(idx: torch.Tensor) -> torch.Tensor:
        rows = idx.tolist()
        return loss_fn([[a[i] for i in rows], [b[i] for i in rows]], y[idx].to(model.device))

    def dev_score() -> float:
        return 100.0 * float(evaluator(model)[evaluator.primary_metric])

    return fit(model, batch_loss, len(a), cfg, dev_score, history, tag or {}, seed)


def train_bi(
    model: Any,
    s1: Sequence[str],
    s2: Sequence[str],
    labels: np.ndarray,
    dev: EvalSet,
    cfg: StageConfig,
    history: History | None = None,
    tag: dict[str, Any] | None = None,
    seed: int = 0,
    eval_batch_size: int = 128,
) -> tuple[float, int]:
    """Train a SentenceTransformer with MSE between cos(u, v) and ``labels``, pairs in one
    order (as upstream); returns (best STS-B dev Spearman x100, steps)."""
    try:  # sentence-transformers >= 6 paths; older releases keep the top-level modules
        from sentence_transformers.sentence_transformer.evaluation import (
            EmbeddingSimilarityEvaluator,
        )
        from sentence_transformers.sentence_transformer.losses import CosineSimilarityLoss
    except ImportError:  # pragma: no cover
        from sentence_transformers.evaluation import EmbeddingSimilarityEvaluator
        from sentence_transformers.losses import CosineSimilarityLoss
    from sentence_transformers.util import batch_to_device

    y = torch.tensor(labels, dtype=torch.float32)
    loss_fn = CosineSimilarityLoss(model)
    evaluator = EmbeddingSimilarityEvaluator(
        list(dev.s1),
        list(dev.s2),
        list(dev.gold),
        batch_size=eval_batch_size,
        main_similarity="cosine",
        name="stsb_dev",
        write_csv=False,
    )

    def batch_loss(idx: torch.Tensor) -> torch.Tensor:
        rows = idx.tolist()
        features = [
            batch_to_device(model.preprocess([side[i] for i in rows]), model.device)
            for side in (s1, s2)
        ]
        return loss_fn(features, y[idx].to(model.device))

    def dev_score() -> float:
        return 100.0 * float(evaluator(model)[evaluator.primary_metric])

    return fit(model, batch_loss, len(s1), cfg, dev_score, history, tag or {}, seed)
