"""PSA-GAN performance: optimiser steps per second of the full-depth progressive GAN (and the
GRU-GAN baseline) at length 64 and 128, 1 thread, on M4 hourly windows; plus the attention's
batched (B, L, L) product against a per-window loop (the hot path must stay batched).

One "step" is one iteration of the training loop (a D or a G step in the 2:1 alternation),
timed over ``--steps`` iterations after a warm-up, with the paper's 32 channels.

Run: ``python benchmarks/psagan.py [--steps 30] [--batch 64 128]``; writes
``benchmarks/results/psagan.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import time

import torch
from _common import median, write_results
from omegaconf import OmegaConf

from iclr.methods.psagan.data import load
from iclr.methods.psagan.gru_gan import GRUDiscriminator, GRUGenerator
from iclr.methods.psagan.models import Discriminator, Generator, SelfAttention
from iclr.methods.psagan.train import train_gan
from iclr.methods.psagan.windows import Scaler, WindowSampler


def step_ms(kind: str, length: int, batch: int, steps: int, panel, scaler, tmp) -> float:
    """Median-of-3 milliseconds per training iteration at full depth."""
    sampler = WindowSampler(panel, scaler, length, seed=0)
    if kind == "psagan":
        gen, disc = (
            Generator(length, 5, 414, channels=32),
            Discriminator(length, 5, 414, channels=32),
        )
    else:
        gen, disc = (
            GRUGenerator(length, 5, 414, hidden=32),
            GRUDiscriminator(length, 5, 414, hidden=32),
        )
    cfg = OmegaConf.create(
        dict(
            epochs=1,
            batches_per_epoch=steps,
            batch_size=batch,
            lr_generator=5e-5,
            lr_discriminator=5e-5,
            betas=[0.9, 0.999],
            nb_step_discrim=2,
            warmup_g_steps=0,
            warmup_d_steps=2,
            fade_in_epochs=0,
            schedule=[-1] * 5,
            moment_loss=1.0,
        )
    )
    train_gan(gen, disc, sampler, OmegaConf.merge(cfg, {"batches_per_epoch": 3}), 0, tmp)
    return median([train_gan(gen, disc, sampler, cfg, 0, tmp)["step_ms"] for _ in range(3)])


def attention_ms(length: int, batch: int) -> dict[str, float]:
    """Batched attention vs a Python loop over windows (forward only)."""
    attn = SelfAttention(32)
    attn.gamma.data.fill_(1.0)
    x = torch.randn(batch, 32, length)
    with torch.no_grad():
        start = time.perf_counter()
        for _ in range(10):
            attn(x)
        batched = (time.perf_counter() - start) / 10
        start = time.perf_counter()
        for i in range(batch):
            attn(x[i : i + 1])
        loop = time.perf_counter() - start
    return {"batched_ms": 1000 * batched, "loop_ms": 1000 * loop}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch", type=int, nargs="+", default=[64, 128])
    args = parser.parse_args()
    torch.set_num_threads(1)
    from iclr.cli import locations

    mirror = locations.mirror_dir()
    if mirror is None or not (mirror / "m4-hourly").is_dir():
        raise SystemExit("set ICLR_DATA_MIRROR to a folder with m4-hourly/")
    panel = load(
        OmegaConf.create({"name": "m4_hourly", "source": "m4_hourly"}), mirror / "m4-hourly"
    )
    scaler = Scaler.fit(panel)
    import tempfile
    from pathlib import Path

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ("psagan", "gru"):
            for length in (64, 128):
                for batch in args.batch:
                    ms = step_ms(
                        kind, length, batch, args.steps, panel, scaler, Path(tmp) / "h.csv"
                    )
                    rows.append(
                        {
                            "model": kind,
                            "length": length,
                            "batch": batch,
                            "step_ms": ms,
                            "steps_per_s": 1000 / ms,
                        }
                    )
    attention = {str(length): attention_ms(length, 128) for length in (64, 128, 256)}
    lines = ["| model | length | batch | ms / step | steps / s |", "|---|---|---|---|---|"]
    lines += [
        f"| {r['model']} | {r['length']} | {r['batch']} | {r['step_ms']:.0f} | "
        f"{r['steps_per_s']:.1f} |"
        for r in rows
    ]
    lines += ["", "Attention forward, batch 128, 32 channels: batched vs a loop over windows:", ""]
    lines += [
        f"- L={k}: {v['batched_ms']:.1f} ms batched, {v['loop_ms']:.1f} ms looped"
        for k, v in attention.items()
    ]
    write_results("psagan", {"steps": rows, "attention": attention}, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
