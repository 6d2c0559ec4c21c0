"""RIM performance: the ItemRec / UserRec metrics on a 50k × 20k score matrix (chunked, bounded
memory), and one full table cell — ``iclr run method=rim dataset=ml-latest-small`` (all
models of one seed: Hawkes and HP fits, the RNN at paper settings, every combination, and
greedy / Dual / Dual-Online matching).

The score matrix is low-rank (log S = U Vᵀ, rank 32, as the RNN's factors), so it is never
materialised: ``assign_topk`` builds blocks of at most ``BLOCK_ELEMENTS`` scores (64 MiB of
float64), takes ``torch.topk`` per row (ItemRec) or per column (UserRec), and the metrics are
computed on the sparse hit matrix. Peak memory is read from ``resource.getrusage``.

Run: ``python benchmarks/rim.py [--users 50000] [--items 20000] [--cell]`` (``--cell`` adds the
table-cell run, several minutes, into a fresh output folder); writes
``benchmarks/results/rim.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time

import numpy as np
import scipy.sparse as sp
import torch
from _common import ensure_data, iclr_executable, time_command, write_results

from iclr.methods.rim.metrics import BLOCK_ELEMENTS, evaluate_item_rec, evaluate_user_rec
from iclr.methods.rim.scores import LowRankScores


def metric_step(users: int, items: int, rank: int, targets_per_user: int) -> dict[str, float]:
    """Seconds for ItemRec (k = ⌈1% items⌉) and UserRec (C = ⌈1% users⌉) with all metrics."""
    torch.manual_seed(0)
    torch.set_num_threads(1)
    scores = LowRankScores(
        torch.randn(users, rank, dtype=torch.float64) / rank**0.5,
        torch.randn(items, rank, dtype=torch.float64) / rank**0.5,
    )
    rng = np.random.default_rng(0)
    rows = np.repeat(np.arange(users), targets_per_user)
    cols = rng.integers(0, items, len(rows))
    target = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(users, items))
    target.data[:] = 1.0
    k, c = int(np.ceil(items / 100)), int(np.ceil(users / 100))
    gen = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    evaluate_item_rec(target, scores, k, gen)
    item_s = time.perf_counter() - start
    start = time.perf_counter()
    evaluate_user_rec(target, scores, c, gen)
    user_s = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "users": users,
        "items": items,
        "rank": rank,
        "k": k,
        "c": c,
        "item_rec_seconds": item_s,
        "user_rec_seconds": user_s,
        "block_elements": BLOCK_ELEMENTS,
        "peak_rss_mb": round(peak_mb),
        "dense_scores_gb": round(users * items * 8 / 1e9, 1),
    }


def cell_time() -> dict[str, float]:
    """Wall time of one seed of every rim model on ml-latest-small (from an empty store)."""
    data = ensure_data("ml-latest-small")
    with tempfile.TemporaryDirectory() as out:
        env = {**os.environ, "ICLR_OUTPUT_DIR": out, "ICLR_DATA_DIR": str(data)}
        env["ICLR_OFFLINE"] = "1"
        command = [iclr_executable(), "run", "method=rim", "dataset=ml-latest-small"]
        seconds, _ = time_command([*command, "method.matching.dual_epochs=20"], env=env)
    return {"seconds": seconds, "load_avg_1m_after": round(os.getloadavg()[0], 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--rank", type=int, default=32)
    parser.add_argument("--cell", action="store_true")
    args = parser.parse_args()
    m = metric_step(args.users, args.items, args.rank, targets_per_user=5)
    figures = {"metrics": m}
    summary = (
        f"ItemRec top-{m['k']} + UserRec top-{m['c']} with every metric on a {m['users']:,} × "
        f"{m['items']:,} low-rank (r = {m['rank']}) score matrix, 1 thread: **ItemRec "
        f"{m['item_rec_seconds']:.1f} s, UserRec {m['user_rec_seconds']:.1f} s**, peak RSS "
        f"{m['peak_rss_mb']} MB (the dense matrix would take {m['dense_scores_gb']} GB).\n"
    )
    if args.cell:
        figures["cell"] = cell_time()
        summary += (
            f"\n`iclr run method=rim dataset=ml-latest-small method.matching.dual_epochs=20` "
            f"(one seed of every model of `rim/main` that shares the RNN run, with matching): "
            f"**{figures['cell']['seconds'] / 60:.1f} min**.\n"
        )
    write_results("rim", figures, summary)


if __name__ == "__main__":
    main()
