"""GRDA training-step speed: steps/second on DG-60 (all 60 domains × 10 samples per step, one
forward pass), paper width (hidden 512) and the scaled profile (hidden 64), one torch thread.

Each configuration builds the ``iclr run method=M dataset=dg60`` trainer with the project's own
``Trainer`` (composed config, ``setup_torch`` with ``hardware=cpu``), runs ``--warmup`` untimed
steps and then times ``--steps`` steps (median per step). For reference, the official code
(a Python loop over pairs of sampled domains, one batch per domain) needed ≈4.7 s per DG-60
epoch of 10 steps on one thread of this machine (docs: ../shared/papers/grda.md, §8).

Run (about 1–2 min) with the mirror set::

    export ICLR_DATA_MIRROR=/path/to/mirror ICLR_OFFLINE=1
    python benchmarks/grda.py [--steps 20]

It writes ``benchmarks/results/grda.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import time

from _common import compose, ensure_data, median, write_results

OFFICIAL_S_PER_STEP = 0.47  # ≈4.7 s per 10-step DG-60 epoch, official code, one CPU thread

PROFILES = {
    "paper (hidden 512)": [],
    "scaled (hidden 64)": ["method.hidden=64", "method.init_std=0.028", "method.lr_scale=8"],
}


def time_method(method: str, overrides: list[str], warmup: int, steps: int) -> float:
    """Median seconds per training step of ``method`` on DG-60."""
    from omegaconf import OmegaConf

    from iclr.data import load_dataset
    from iclr.methods.common.runtime import setup_torch
    from iclr.methods.grda.training import Trainer

    module = __import__(f"iclr.methods.grda.{method}", fromlist=["make"])
    cfg = OmegaConf.create(
        OmegaConf.to_container(compose(method, "dg60", *overrides), resolve=True)
    )
    device = setup_torch(0, cfg.hardware)
    data = load_dataset(cfg.dataset, cfg.paths.data_dir, cfg.paths.mirror)
    trainer = Trainer(cfg, data, device, getattr(module, "make", None))
    batches = trainer.tensors.epoch(int(cfg.method.batch_size), trainer.generator)
    x, y = next(batches)
    for _ in range(warmup):
        trainer.step(x, y)
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        trainer.step(x, y)
        times.append(time.perf_counter() - start)
    return median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()
    ensure_data("dg60")
    figures: dict[str, dict[str, float]] = {}
    lines = [
        "| profile | method | s/step | steps/s | DG-60 epoch (10 steps) | vs official |",
        "|---|---|---|---|---|---|",
    ]
    for profile, overrides in PROFILES.items():
        for method in ("grda", "dann", "source_only"):
            seconds = time_method(method, overrides, args.warmup, args.steps)
            figures[f"{profile} / {method}"] = {"s_per_step": seconds, "steps_per_s": 1 / seconds}
            speedup = OFFICIAL_S_PER_STEP / seconds if method == "grda" else None
            lines.append(
                f"| {profile} | {method} | {seconds:.4f} | {1 / seconds:.1f} | "
                f"{10 * seconds:.2f} s | {f'{speedup:.1f}×' if speedup else '-'} |"
            )
    write_results("grda", figures, "\n".join(lines))


if __name__ == "__main__":
    main()
