"""Adversarial training as the official ``JointTrainingPytorch`` callback does it.

One iteration = one batch = one optimiser step of either network: after a warm-up in which each
of the first ``warmup_g_steps`` generator steps follows ``warmup_d_steps`` discriminator steps,
``nb_step_discrim`` D steps precede each G step. The depth grows at the scheduled epochs and
the newest stage fades in linearly over ``fade_in_epochs`` (fractional epochs here, so short CPU
runs fade smoothly; upstream steps the factor per whole epoch). Real windows are average-pooled
to the current stage length. Loss: LSGAN with factor ½; the generator adds λ·moment loss.
An energy-based discriminator (``energy_based``, the EBGAN baseline) swaps LSGAN for EBGAN's
margin loss and pulling-away term inside the same loop (``ebgan``).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from iclr.methods.common.history import History
from iclr.methods.psagan.ebgan import ebgan_d_loss, pulling_away
from iclr.methods.psagan.windows import Batch, WindowSampler


def lsgan_d(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """½E[(D(x) − 1)²] + ½E[D(G(z))²]."""
    return 0.5 * (real - 1).square().mean() + 0.5 * fake.square().mean()


def lsgan_g(fake: torch.Tensor) -> torch.Tensor:
    """½E[(D(G(z)) − 1)²]."""
    return 0.5 * (fake - 1).square().mean()


def moment_loss(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Mean over windows of |std_t(fake) − std_t(real)| + |mean_t(fake) − mean_t(real)|."""
    std = (fake.std(dim=1) - real.std(dim=1)).abs().mean()
    mean = (fake.mean(dim=1) - real.mean(dim=1)).abs().mean()
    return std + mean


def growth_schedule(cfg: Any, max_depth: int) -> list[float]:
    """Epochs after which the depth grows: ``cfg.schedule`` or, when null, ``max_depth`` growths
    evenly spaced over the run (the final presets' schedule lives in an absent CSV)."""
    if max_depth == 0:
        return []
    if cfg.get("schedule") is not None:
        schedule = [float(s) for s in cfg.schedule][:max_depth]
        if len(schedule) < max_depth:
            from iclr.cli.errors import UserError

            raise UserError(
                f"method.train.schedule has {len(schedule)} epochs; target_len needs {max_depth}"
            )
        return schedule
    epochs = float(cfg.epochs)
    return [epochs * (i + 1) / (max_depth + 1) for i in range(max_depth)]


def depth_alpha(epoch: float, schedule: list[float], fade_in: float) -> tuple[int, float]:
    """Depth at ``epoch`` (number of growth epochs passed) and the newest stage's mix factor."""
    depth = sum(epoch > s for s in schedule)
    if depth == 0 or fade_in <= 0:
        return depth, 1.0
    return depth, float(min(max((epoch - schedule[depth - 1]) / fade_in, 0.0), 1.0))


def pool_to(target: torch.Tensor, length: int) -> torch.Tensor:
    """Average-pool (B, L) real windows to the current stage length."""
    factor = target.shape[-1] // length
    return target if factor == 1 else F.avg_pool1d(target[:, None], factor)[:, 0]


def module_device(module: nn.Module) -> torch.device:
    """The device of ``module``'s parameters (the CPU for a module without any)."""
    return next(module.parameters(), torch.empty(0)).device


def generate(
    generator: nn.Module,
    batch: Batch,
    gen: torch.Generator,
    depth: int | None = None,
    alpha: float = 1.0,
) -> torch.Tensor:
    """Synthetic windows with ``batch``'s time features, series ids and context, on the
    generator's device (the noise is drawn on the CPU from ``gen``, so runs match across
    devices up to floating point)."""
    device = module_device(generator)
    batch = batch.to(device)
    noise = torch.randn(batch.target.shape, generator=gen).to(device)
    return generator(
        noise,
        batch.time_feat,
        batch.series,
        depth,
        alpha,
        batch.context if batch.context.shape[1] else None,
    )


def train_gan(
    generator: nn.Module,
    discriminator: nn.Module,
    sampler: WindowSampler,
    cfg: Any,
    seed: int,
    history_path: Path,
) -> dict[str, float]:
    """Train in place on the networks' device; writes one history row per epoch; returns
    summary statistics."""
    gen = torch.Generator().manual_seed(seed)
    device = module_device(generator)
    opt_g = torch.optim.Adam(
        generator.parameters(), lr=float(cfg.lr_generator), betas=tuple(cfg.betas)
    )
    opt_d = torch.optim.Adam(
        discriminator.parameters(), lr=float(cfg.lr_discriminator), betas=tuple(cfg.betas)
    )
    max_depth = int(getattr(generator, "max_depth", 0))
    schedule = growth_schedule(cfg, max_depth)
    bpe, epochs = int(cfg.batches_per_epoch), int(cfg.epochs)
    lam = float(cfg.moment_loss)
    # EBGAN: D's score is an energy; its margin and pulling-away weight are training settings.
    energy_based = bool(getattr(discriminator, "energy_based", False))
    margin = float(cfg.margin) if energy_based else 0.0
    pt_weight = float(cfg.pt_weight) if energy_based else 0.0
    g_steps = d_since_g = 0
    start = time.perf_counter()
    sums: dict[str, list[float]] = {"loss_d": [], "loss_g": [], "moment": []}
    if energy_based:  # logged to check the margin sits between real and fake energies
        sums.update(energy_real=[], energy_fake=[], pulling_away=[])
    with History(history_path) as history:
        for epoch in range(epochs):
            for it in range(bpe):
                depth, alpha = depth_alpha(epoch + it / bpe, schedule, float(cfg.fade_in_epochs))
                length = int(generator.target_len) >> (max_depth - depth)
                n_d = (
                    int(cfg.warmup_d_steps)
                    if g_steps < int(cfg.warmup_g_steps)
                    else int(cfg.nb_step_discrim)
                )
                batch = sampler.sample(int(cfg.batch_size)).to(device)
                real = pool_to(batch.target, length)
                if d_since_g >= n_d:  # generator step
                    fake = generate(generator, batch, gen, depth, alpha)
                    discriminator.requires_grad_(False)
                    if energy_based:
                        energy, code = discriminator.energy_and_code(
                            fake, batch.time_feat, batch.series
                        )
                        pt = pulling_away(code)
                        adversarial = energy.mean() + pt_weight * pt
                        sums["pulling_away"].append(float(pt.detach()))
                    else:
                        score = discriminator(fake, batch.time_feat, batch.series, depth, alpha)
                        adversarial = lsgan_g(score)
                    discriminator.requires_grad_(True)
                    moment = moment_loss(fake, real)
                    loss = adversarial + lam * moment
                    opt_g.zero_grad(set_to_none=True)
                    loss.backward()
                    opt_g.step()
                    sums["loss_g"].append(float(loss.detach()))
                    sums["moment"].append(float(moment.detach()))
                    g_steps, d_since_g = g_steps + 1, 0
                else:  # discriminator step
                    with torch.no_grad():
                        fake = generate(generator, batch, gen, depth, alpha)
                    d_real = discriminator(real, batch.time_feat, batch.series, depth, alpha)
                    d_fake = discriminator(fake, batch.time_feat, batch.series, depth, alpha)
                    if energy_based:
                        loss = ebgan_d_loss(d_real, d_fake, margin)
                        sums["energy_real"].append(float(d_real.detach().mean()))
                        sums["energy_fake"].append(float(d_fake.detach().mean()))
                    else:
                        loss = lsgan_d(d_real, d_fake)
                    opt_d.zero_grad(set_to_none=True)
                    loss.backward()
                    opt_d.step()
                    sums["loss_d"].append(float(loss.detach()))
                    d_since_g += 1
            row = {k: float(np.mean(v)) if v else float("nan") for k, v in sums.items()}
            history.write(
                epoch=epoch + 1,
                depth=depth,
                alpha=alpha,
                g_steps=g_steps,
                **row,
                seconds=time.perf_counter() - start,
            )
            sums = {k: [] for k in sums}
    seconds = time.perf_counter() - start
    return {
        "train_s": seconds,
        "train_steps": epochs * bpe,
        "generator_steps": g_steps,
        "step_ms": 1000 * seconds / max(epochs * bpe, 1),
        "final_depth": depth,
        "final_length": int(generator.target_len) >> (max_depth - depth),
    }
