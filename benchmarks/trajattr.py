"""trajattr performance: Shapley attribution throughput (agent-timesteps per second) on real
univ test windows, all coalitions of a batch of games in one forward pass, against a loop of one
forward per coalition, for both decoders (``mlp``: the CPU profile's; ``gru``: Trajectron++'s),
and permutation sampling above the exact limit.

The model is an untrained Trajectron-lite Edge (timing does not depend on the weights); the
value is −(NLL, min-of-20 ADE, FDE) of each coalition. Windows are drawn from the univ fold's test
scenes (the crowded one) with exactly n − 2 neighbours (players: past + neighbours + random agent).

Run: ``python benchmarks/trajattr.py [--windows 16]``; writes ``benchmarks/results/trajattr.json``
and ``.md``.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import torch
from _common import write_results

from iclr.methods.trajattr import shapley
from iclr.methods.trajattr.attribution import GameBatch, make_value_fn
from iclr.methods.trajattr.data import load
from iclr.methods.trajattr.models import TrajectronLite
from iclr.methods.trajattr.windows import build_windows, random_agents, random_pasts


def games(w, m: int, count: int, pool, gen: torch.Generator) -> GameBatch | None:
    """A batch of ``count`` games of windows with exactly ``m`` real neighbours."""
    idx = torch.nonzero(w.n_neighbors == m).squeeze(1)[:count]
    if len(idx) == 0:
        return None
    b = len(idx)
    return GameBatch(
        w.index(idx),
        m,
        random_agents(pool, b, gen),
        random_pasts(pool, b, gen),
        random_agents(pool, b * (m + 1), gen).reshape(b, m + 1, *w.hist.shape[1:]),
        torch.rand(b, 20, generator=gen),
        torch.randn(b, 20, w.fut.shape[1], 2, generator=gen),
    )


def first_game(g: GameBatch) -> GameBatch:
    """The batch's first game alone."""
    return GameBatch(
        g.w.index(slice(0, 1)),
        g.m,
        g.random_agent[:1],
        g.donor_past[:1],
        g.donor_nb[:1],
        g.uniform[:1],
        g.noise[:1],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=16)
    args = parser.parse_args()
    torch.set_num_threads(1)
    from omegaconf import OmegaConf

    mirror = Path(os.environ.get("ICLR_DATA_MIRROR", "../shared/datasets"))
    dcfg = OmegaConf.create(
        {"name": "eth_ucy_univ", "layout": "eth_ucy", "fold": "univ", "frame_step": 10}
        | {"dt": 0.4, "unit": "m"}
    )
    data = load(dcfg, mirror / "eth_ucy")
    test = build_windows(data.splits["test"], 8, 12, 3.0, 54)
    pool = build_windows(data.splits["train"], 8, 12, 3.0, 54)
    method = OmegaConf.load(Path(__file__).resolve().parents[1] / "conf/method/trajattr.yaml")
    gen = torch.Generator().manual_seed(0)
    rows = []
    # the GRU reference runs fewer games (its forward is ~20x dearer)
    for decoder in ("mlp", "gru"):
        method.decoder = decoder
        torch.manual_seed(0)
        model = TrajectronLite(method, 0.4, 1.0, 12).eval()
        for n in (4, 6, 8, 10):
            g = games(test, n - 2, args.windows if decoder == "mlp" else 4, pool, gen)
            if g is None:
                continue
            value = make_value_fn(model, g, "mask", 4096)
            b = len(g.w)
            start = time.perf_counter()
            shapley.exact(value, b, n)
            batched = time.perf_counter() - start
            # reference: one forward pass per coalition, one game (what a loop would do)
            one = first_game(g)
            single = make_value_fn(model, one, "mask", 4096)
            bits = shapley.all_coalitions(n)
            start = time.perf_counter()
            calls = min(2**n, 64)  # time 64 single-coalition calls, scale to all 2^n
            for s in range(calls):
                single(bits[None, s : s + 1])
            looped = (time.perf_counter() - start) * 2**n / calls
            start = time.perf_counter()
            shapley.permutation_shapley(value, b, n, 32, gen)
            perm = time.perf_counter() - start
            rows.append(
                {
                    "decoder": decoder,
                    "players": n,
                    "coalitions": 2**n,
                    "games": b,
                    "exact_windows_per_s": b / batched,
                    "loop_windows_per_s": 1 / looped,
                    "speedup": (b / batched) / (1 / looped),
                    "permutation32_windows_per_s": b / perm,
                }
            )
            print(rows[-1], flush=True)
    lines = [
        "Shapley attribution throughput on univ test windows (1 thread, untrained Trajectron-lite"
        " Edge, value = −NLL/−min-ADE/−min-FDE with 20 samples):",
        "",
        "| decoder | players | coalitions | games | exact, batched (windows/s) "
        "| exact, one forward per coalition (windows/s, from 64 timed calls) | speed-up "
        "| 32 permutations (windows/s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['decoder']} | {r['players']} | {r['coalitions']} | {r['games']} | "
            f"{r['exact_windows_per_s']:.2f} | {r['loop_windows_per_s']:.3f} | "
            f"{r['speedup']:.0f}× | {r['permutation32_windows_per_s']:.2f} |"
        )
    write_results("trajattr", {"rows": rows}, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
