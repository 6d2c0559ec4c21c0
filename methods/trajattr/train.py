"""Training of Trajectron-lite: exact marginal likelihood over the 25 latent modes, Adam with
Trajectron++'s schedule (lr × 0.9999 per step down to 1e-5, gradient clipping 1.0), optional
rotation augmentation (Trajectron++ ``--augment``); one history row per epoch."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import torch

from iclr.methods.common.history import History
from iclr.methods.common.progress import epoch_progress
from iclr.methods.trajattr.mixture import displacement_errors
from iclr.methods.trajattr.models import TrajectronLite
from iclr.methods.trajattr.windows import Windows


def rotate(w: Windows, angle: torch.Tensor) -> Windows:
    """The windows rotated about each target's current position by ``angle [K]`` (radians)."""
    c, s = torch.cos(angle), torch.sin(angle)
    rot = torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)], -2)  # [K, 2, 2]

    def apply(x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        flat = x.reshape(shape[0], -1, 2)
        return (flat @ rot.transpose(1, 2)).reshape(shape)

    return Windows(apply(w.hist), apply(w.fut), apply(w.nb_hist), w.nb_mask, w.scene, w.step)


@torch.no_grad()
def evaluate_mixture(
    model: TrajectronLite, w: Windows, samples: int, seed: int, drop_neighbours: bool = False
) -> dict[str, torch.Tensor]:
    """Per-window step NLL, min-of-``samples`` ADE and FDE (neighbours optionally all removed:
    the paper's "w/o interaction" at inference)."""
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    uniform = torch.rand(len(w), samples, generator=gen)
    noise = torch.randn(len(w), samples, w.fut.shape[1], 2, generator=gen)
    mask = torch.zeros_like(w.nb_mask) if drop_neighbours else w.nb_mask
    nll, ade, fde = [], [], []
    for lo in range(0, len(w), 1024):
        sl = slice(lo, lo + 1024)
        mix = model(w.hist[sl], w.nb_hist[sl], mask[sl])
        nll.append(mix.step_nll(w.fut[sl]))
        a, f = displacement_errors(mix.sample(uniform[sl], noise[sl]), w.fut[sl])
        ade.append(a)
        fde.append(f)
    return {"nll": torch.cat(nll), "ade": torch.cat(ade), "fde": torch.cat(fde)}


def train(
    model: TrajectronLite, train_w: Windows, val_w: Windows, cfg: Any, seed: int, out_dir: Path
) -> dict[str, float]:
    """Train ``model`` in place (``cfg`` = the method config); write ``history.csv``."""
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=float(cfg.lr))
    decay, min_lr = float(cfg.lr_decay), float(cfg.min_lr)
    batch, epochs = int(cfg.batch_size), int(cfg.epochs)
    per_epoch = math.ceil(len(train_w) / batch)
    if cfg.get("steps_per_epoch"):
        per_epoch = min(per_epoch, int(cfg.steps_per_epoch))
    val_w = val_w.index(torch.randperm(len(val_w), generator=gen)[: int(cfg.val_windows)])
    step, seconds, last = 0, 0.0, {}
    with (
        History(out_dir / "history.csv") as history,
        epoch_progress(epochs, f"trajattr {cfg.name}") as advance,
    ):
        for epoch in range(epochs):
            model.train()
            start = time.perf_counter()
            order = torch.randperm(len(train_w), generator=gen)
            total = 0.0
            for i in range(per_epoch):
                b = train_w.index(order[i * batch : (i + 1) * batch])
                if cfg.augment:  # Trajectron++ rotates scenes in 15° steps
                    angle = torch.randint(24, (len(b),), generator=gen) * (math.pi / 12)
                    b = rotate(b, angle.float())
                loss = model(b.hist, b.nb_hist, b.nb_mask).sequence_nll(b.fut).mean()
                opt.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), float(cfg.grad_clip))
                opt.step()
                step += 1
                for group in opt.param_groups:
                    group["lr"] = max(min_lr, group["lr"] * decay)
                total += float(loss.detach())
            seconds += time.perf_counter() - start
            row = {"epoch": epoch, "step": step, "train_loss": total / per_epoch}
            if len(val_w):
                ev = evaluate_mixture(model, val_w, int(cfg.samples), seed)
                row.update(
                    val_nll=float(ev["nll"].mean()),
                    val_min_ade=float(ev["ade"].mean()),
                    val_min_fde=float(ev["fde"].mean()),
                )
            row.update(lr=opt.param_groups[0]["lr"], train_s=seconds)
            history.write(**row)
            advance(**{k: v for k, v in row.items() if k in ("train_loss", "val_min_ade")})
            last = row
    return {"train_steps": float(step), "train_s": seconds, "final_train_loss": last["train_loss"]}
