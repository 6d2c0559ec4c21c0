"""Training with an augmenter (the search model's pre-training and the evaluation runs):
SGD with Nesterov momentum, cosine or step schedule after a linear warm-up, optional gradient
clipping, augmentation applied per batch on the tensors, test accuracy after every epoch."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from iclr.methods.common.history import History
from iclr.methods.common.progress import epoch_progress
from iclr.methods.deepaa.policy import Augmenter


@dataclass
class Schedule:
    """Learning-rate schedule: ``warmup_epochs`` of linear warm-up (from 0 to lr when
    ``multiplier`` is 1, else from lr to lr·multiplier, as GradualWarmupScheduler), then cosine
    to ``lr_min`` or steps of ×``gamma`` at ``milestones`` (the "resnet" schedule)."""

    lr: float
    epochs: int
    warmup_epochs: float = 0.0
    multiplier: float = 1.0
    kind: str = "cosine"
    lr_min: float = 0.0
    milestones: tuple[int, ...] = ()
    gamma: float = 0.1

    def at(self, epoch: float) -> float:
        """The learning rate at (fractional) ``epoch``."""
        peak = self.lr * self.multiplier
        if epoch < self.warmup_epochs:
            frac = epoch / self.warmup_epochs
            start = 0.0 if self.multiplier == 1.0 else self.lr
            return start + frac * (peak - start)
        if self.kind == "step":
            return peak * self.gamma ** sum(epoch >= m for m in self.milestones)
        span = max(self.epochs - self.warmup_epochs, 1e-9)
        progress = min((epoch - self.warmup_epochs) / span, 1.0)
        return self.lr_min + 0.5 * (peak - self.lr_min) * (1 + math.cos(math.pi * progress))


@dataclass
class TrainResult:
    """Final-epoch metrics and throughput of one training run."""

    test_acc: float
    train_loss: float
    epochs: int
    seconds: float
    images_per_s: float
    curve: list[dict[str, float]] = field(default_factory=list)


def as_float(images: Tensor) -> Tensor:
    """uint8 images (as stored for CIFAR) to float in [0, 1]; float images unchanged."""
    return images.float() / 255 if images.dtype == torch.uint8 else images


@torch.no_grad()
def accuracy(
    model: nn.Module, images: Tensor, labels: Tensor, device: torch.device, batch_size: int = 1000
) -> float:
    """Top-1 accuracy in eval mode."""
    model.eval()
    correct = 0
    for start in range(0, len(images), batch_size):
        x = as_float(images[start : start + batch_size]).to(device)
        pred = model(x).argmax(1).cpu()
        correct += int((pred == labels[start : start + batch_size]).sum())
    return correct / max(len(images), 1)


def train_model(
    model: nn.Module,
    train: tuple[Tensor, Tensor],
    test: tuple[Tensor, Tensor] | None,
    augment: Augmenter,
    opt_cfg: Any,
    device: torch.device,
    gen: torch.Generator,
    history_path: Path | None = None,
    description: str = "train",
) -> TrainResult:
    """Train ``model`` on ``train`` with ``augment`` applied to every batch.

    ``opt_cfg`` gives ``epochs, batch_size, lr, weight_decay, nesterov, momentum`` and optional
    ``warmup_epochs, warmup_multiplier, schedule (cosine|step), lr_min, milestones, grad_clip``.
    Returns the final-epoch test accuracy (the selection rule of this reproduction).
    """
    images, labels = train
    epochs, batch = int(opt_cfg.epochs), int(opt_cfg.batch_size)
    schedule = Schedule(
        lr=float(opt_cfg.lr),
        epochs=epochs,
        warmup_epochs=float(opt_cfg.get("warmup_epochs", 0.0)),
        multiplier=float(opt_cfg.get("warmup_multiplier", 1.0)),
        kind=str(opt_cfg.get("schedule", "cosine")),
        lr_min=float(opt_cfg.get("lr_min", 0.0)),
        milestones=tuple(int(m) for m in opt_cfg.get("milestones", ()) or ()),
    )
    clip = opt_cfg.get("grad_clip")
    optimiser = torch.optim.SGD(
        model.parameters(),
        lr=schedule.at(0.0),
        momentum=float(opt_cfg.get("momentum", 0.9)),
        nesterov=bool(opt_cfg.get("nesterov", True)),
        weight_decay=float(opt_cfg.weight_decay),
    )
    steps_per_epoch = max(math.ceil(len(images) / batch), 1)
    history = History(history_path) if history_path is not None else None
    curve: list[dict[str, float]] = []
    seen, busy = 0, 0.0
    loss_sum = torch.zeros(())
    with epoch_progress(epochs, description) as advance:
        for epoch in range(epochs):
            model.train()
            perm = torch.randperm(len(images), generator=gen)
            loss_sum = torch.zeros(())
            start = time.perf_counter()
            for step in range(steps_per_epoch):
                idx = perm[step * batch : (step + 1) * batch]
                if len(idx) == 0:
                    continue
                for group in optimiser.param_groups:
                    group["lr"] = schedule.at(epoch + step / steps_per_epoch)
                x = augment(as_float(images[idx]), gen).to(device)
                loss = F.cross_entropy(model(x), labels[idx].to(device))
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                if clip:
                    nn.utils.clip_grad_norm_(model.parameters(), float(clip))
                optimiser.step()
                loss_sum += loss.detach().cpu() * len(idx)
            busy += time.perf_counter() - start
            seen += len(images)
            row = {
                "epoch": epoch + 1,
                "lr": schedule.at(epoch + 1.0),
                "train_loss": float(loss_sum) / len(images),
            }
            if test is not None:
                row["test_acc"] = accuracy(model, *test, device)
            curve.append(row)
            if history is not None:
                history.write(**row)
            advance(**{k: v for k, v in row.items() if k != "epoch"})
    if history is not None:
        history.close()
    final = curve[-1] if curve else {}
    return TrainResult(
        test_acc=float(final.get("test_acc", float("nan"))),
        train_loss=float(final.get("train_loss", float("nan"))),
        epochs=epochs,
        seconds=busy,
        images_per_s=seen / busy if busy > 0 else float("nan"),
        curve=curve,
    )
