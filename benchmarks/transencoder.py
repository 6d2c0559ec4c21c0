"""Trans-Encoder throughput on this machine: pairs/s for bi-encoder scoring (cosine, every
distinct sentence embedded once) and cross-encoder scoring (pairs sorted by length vs the
pairs in pool order), and for one training stage of each (bi: MSE on cosine, batch 128, max_seq
32; cross: BCE, batch 32, max_length 64, both orders), all-MiniLM-L6-v2, one thread.

Pairs are real pool pairs (a stratified sample of the sts_sickr pool, from the data mirror).
Run: ``python benchmarks/transencoder.py [--pairs 512]``; writes
``benchmarks/results/transencoder.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from _common import compose, write_results


def _pool(pairs: int):
    from iclr.methods.transencoder.pipeline import load_benchmark

    cfg = compose("transencoder", "sts_sickr", f"method.pool.size={pairs}", "method.dev.size=64")
    pool, dev, _ = load_benchmark(cfg)
    return cfg, pool, dev


def measure(pairs: int) -> dict[str, float]:
    """Seconds and pairs/s of each stage on ``pairs`` pool pairs."""
    from iclr.methods.transencoder.models import Start, ensure_offline, make_bi, make_cross
    from iclr.methods.transencoder.scoring import bi_scores, cross_scores
    from iclr.methods.transencoder.training import StageConfig, train_bi, train_cross

    torch.set_num_threads(1)
    ensure_offline()
    cfg, pool, dev = _pool(pairs)
    start = Start("minilm", "minilm", "minilm", "mean")
    s1, s2 = list(pool.s1), list(pool.s2)
    out: dict[str, float] = {"pairs": len(pool)}

    def timed(name: str, n: int, fn) -> object:
        # CPU seconds of this process as well as wall seconds: on a shared machine the wall
        # figure mostly measures the other jobs, the CPU figure what one idle core would do
        begin, begin_cpu = time.perf_counter(), time.process_time()
        result = fn()
        seconds, cpu = time.perf_counter() - begin, time.process_time() - begin_cpu
        out[f"{name}_s"], out[f"{name}_pairs_per_s"] = seconds, n / seconds
        out[f"{name}_cpu_s"], out[f"{name}_pairs_per_cpu_s"] = cpu, n / cpu
        return result

    torch.manual_seed(0)
    bi = make_bi(start, 32, "cpu")
    cross = make_cross(start, 64, "cpu")
    cosine = timed("bi_score", len(pool), lambda: bi_scores(bi, s1, s2, 128))
    timed("cross_score_sorted", len(pool), lambda: cross_scores(cross, s1, s2, 64))
    timed(
        "cross_score_unsorted",
        len(pool),
        lambda: cross.predict(
            list(zip(s1, s2, strict=True)), batch_size=64, show_progress_bar=False
        ),
    )
    # training stages without dev evaluation (eval_steps 0; the epoch-end check is on 64 pairs)
    cross_cfg = StageConfig.from_cfg(cfg.method.cross)
    bi_cfg = StageConfig.from_cfg(cfg.method.bi)
    cross_cfg = StageConfig(**{**cross_cfg.__dict__, "eval_steps": 0})
    bi_cfg = StageConfig(**{**bi_cfg.__dict__, "eval_steps": 0, "epochs": 1})
    labels = np.clip(cosine, 0, 1)
    timed("cross_train", 2 * len(pool), lambda: train_cross(cross, s1, s2, labels, dev, cross_cfg))
    timed("bi_train", len(pool), lambda: train_bi(bi, s1, s2, labels, dev, bi_cfg))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=512)
    args = parser.parse_args()
    m = measure(args.pairs)
    summary = (
        f"all-MiniLM-L6-v2, 1 thread, {m['pairs']} real sts_sickr pool pairs "
        "(training figures include one epoch-end dev check on 64 STS-B dev pairs):\n\n"
        "| stage | pairs per CPU second | CPU s | pairs per wall second | wall s |\n"
        "|---|---|---|---|---|\n"
        + "".join(
            f"| {label} | {m[key + '_pairs_per_cpu_s']:.1f} | {m[key + '_cpu_s']:.1f} "
            f"| {m[key + '_pairs_per_s']:.1f} | {m[key + '_s']:.1f} |\n"
            for label, key in [
                ("bi scoring (cosine, max_seq 32)", "bi_score"),
                ("cross scoring, sorted by length (ours)", "cross_score_sorted"),
                ("cross scoring, pool order (CrossEncoder.predict)", "cross_score_unsorted"),
                ("cross training (BCE, batch 32, max_len 64; pair-orders/s)", "cross_train"),
                ("bi training (MSE on cosine, batch 128, max_seq 32)", "bi_train"),
            ]
        )
    )
    write_results("transencoder", m, summary)


if __name__ == "__main__":
    main()
