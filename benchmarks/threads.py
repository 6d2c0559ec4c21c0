"""Torch threads: per-epoch time of our GCN and SAGE on Cora and CiteSeer with 1 vs 2 threads.

Evidence for ``hardware=cpu``'s ``threads: 1``. For each (method, dataset) the ``iclr`` model is
built once by the project's own functions (as in ``benchmarks/epoch_speed.py``: sparse CSR
features, precomputed propagation matrix, the composed ``iclr run`` config, seed 0). An epoch is
what ``iclr run`` does per epoch: one training step (forward, backward, optimiser step) and one
no-grad evaluation (forward + accuracies). ``torch.set_num_threads`` alternates between 1 and 2
for ``--rounds`` rounds of 5 warm-up + ``--steps`` timed epochs; figures are medians over all timed
epochs per setting, and ``2 vs 1`` is the speed-up of two threads (> 1: two threads are faster).

Two scenarios, because a 2-core machine is rarely idle while experiments run:

* ``none``: no extra load started by the benchmark (other users' load is not removed; the load
  average is recorded with the figures);
* ``busy``: one CPU-bound process (a Python busy loop) runs meanwhile, as a second job of a
  parallel sweep (``hydra/launcher=joblib``) or any other work on the other core would.

With an oversubscribed CPU, two OpenMP threads can be 10-100× slower than one (each parallel
region waits for a descheduled thread), so every round of one setting stops after
``--max-seconds``: such a setting then has fewer timed epochs, all of them slow.

Run (about 1 min; up to 3 min under heavy load) from a scratch folder with the data root and
mirror set::

    export ICLR_DATA_DIR=/tmp/bench/data ICLR_DATA_MIRROR=/path/to/mirror ICLR_OFFLINE=1
    python /path/to/benchmarks/threads.py [--rounds 3] [--steps 25] [--scenarios none,busy]

It writes ``benchmarks/results/threads.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from _common import Setup, ensure_data, median, our_setup, time_steps, write_results

THREADS = (1, 2)
CELLS = (("gcn", "cora"), ("gcn", "citeseer"), ("sage", "cora"), ("sage", "citeseer"))
SCENARIOS = ("none", "busy")
WARMUP = 5


@contextmanager
def scenario(name: str) -> Iterator[None]:
    """Run the block with no extra load (``none``) or beside one busy-looping process."""
    if name == "none":
        yield
        return
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield
    finally:
        spinner.terminate()
        spinner.wait()


def epoch_times(
    setup: Setup, rounds: int, steps: int, max_seconds: float
) -> dict[int, list[float]]:
    """Epoch times (s) per thread count, thread counts alternating every round."""

    def epoch() -> None:
        setup.step()
        setup.evaluate()

    times: dict[int, list[float]] = {n: [] for n in THREADS}
    for _ in range(rounds):
        for n in THREADS:
            torch.set_num_threads(n)
            times[n] += time_steps(epoch, steps, WARMUP, max_seconds)
    torch.set_num_threads(1)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=25, help="timed epochs per round")
    parser.add_argument("--max-seconds", type=float, default=2.0, help="cap per round/setting")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    args = parser.parse_args()
    chosen = [s for s in args.scenarios.split(",") if s]
    if unknown := set(chosen) - set(SCENARIOS):
        parser.error(f"unknown scenarios {sorted(unknown)}; choose from {SCENARIOS}")

    ensure_data("cora", "citeseer")
    setups = {cell: our_setup(*cell, seed=0) for cell in CELLS}
    rows: list[dict[str, Any]] = []
    for name in chosen:
        with scenario(name):
            for (method, dataset), setup in setups.items():
                times = epoch_times(setup, args.rounds, args.steps, args.max_seconds)
                ms = {n: 1000 * median(times[n]) for n in THREADS}
                rows.append(
                    {
                        "scenario": name,
                        "method": method,
                        "dataset": dataset,
                        "epoch_ms": {str(n): ms[n] for n in THREADS},
                        "timed_epochs": {str(n): len(times[n]) for n in THREADS},
                        "speedup_2_over_1": ms[1] / ms[2],
                    }
                )
    figures = {
        "rounds": args.rounds,
        "steps_per_round": args.steps,
        "max_seconds_per_round": args.max_seconds,
        "cells": rows,
    }
    lines = [
        "| extra load | model | dataset | 1 thread (ms/epoch) | 2 threads (ms/epoch) | 2 vs 1 |",
        "|---|---|---|---|---|---|",
        *(
            f"| {r['scenario']} | {r['method']} | {r['dataset']} | {r['epoch_ms']['1']:.2f} | "
            f"{r['epoch_ms']['2']:.2f} | {r['speedup_2_over_1']:.2f}× |"
            for r in rows
        ),
        "",
        f"Epoch = training step + evaluation; median over up to {args.rounds}×{args.steps} epochs "
        "per setting; `busy`: one busy-looping process started beside the benchmark.",
    ]
    for name in chosen:
        ratios = [r["speedup_2_over_1"] for r in rows if r["scenario"] == name]
        lines.append(
            f"- {name}: two threads are {min(ratios):.2f}–{max(ratios):.2f}× the speed of one."
        )
    write_results("threads", figures, "\n".join(lines))


if __name__ == "__main__":
    main()
