"""Cold Brew performance: the student's top-K virtual-neighbour step on a 100k-node graph, the
wall time of ``iclr table coldbrew/table3`` (Cora + CiteSeer, 5 seeds, all six models), and the
seconds per TailGCN epoch on CiteSeer (Table 5's slowest cell).

The top-K step scores every query against every candidate teacher row, but in chunks sized so
that at most ``SCORE_BUDGET`` scores exist at once: the N × N matrix (40 GB in float32 for
N = 100k) is never materialised. Peak memory is read from ``resource.getrusage``.

TailGCN's first layer works in CiteSeer's 3,703-d input space (four 3,703 × 3,703 relation maps);
an epoch's cost is the marginal one, ``(T(E epochs) − T(1 epoch)) / (E − 1)`` of the method's own
entry point with one thread, so data loading and set-up are excluded; CPU time is reported
beside wall time because the machine may be shared.

Run: ``python benchmarks/coldbrew.py [--nodes 100000] [--dim 64] [--table] [--tailgcn 6]``
(``--table`` adds the table run, about 10 minutes, into a fresh output folder with ``--jobs 2``;
``--tailgcn E`` times E TailGCN epochs); writes ``benchmarks/results/coldbrew.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

import torch
from _common import compose, ensure_data, iclr_executable, time_command, write_results

from iclr.methods.coldbrew import tailgnn
from iclr.methods.coldbrew.student import SCORE_BUDGET, virtual_neighbours


def top_k_step(nodes: int, dim: int, k: int, repeat: int) -> dict[str, float]:
    """Seconds for ẽ of every node against all nodes' teacher rows (self excluded)."""
    torch.manual_seed(0)
    torch.set_num_threads(1)
    queries, keys = torch.randn(nodes, dim), torch.randn(nodes, dim)
    ids = torch.arange(nodes)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        virtual_neighbours(queries, keys, k, query_ids=ids, key_ids=ids)
        times.append(time.perf_counter() - start)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "nodes": nodes,
        "dim": dim,
        "k": k,
        "seconds": min(times),
        "chunk_rows": max(1, SCORE_BUDGET // nodes),
        "peak_rss_mb": round(peak_mb),
        "dense_scores_gb": round(nodes * nodes * 4 / 1e9, 1),
    }


def table_time() -> dict[str, float]:
    """Wall time of the Cold Brew Table 3 run from an empty results store."""
    data = ensure_data("cora", "citeseer")
    with tempfile.TemporaryDirectory() as out:
        env = {
            **os.environ,
            "ICLR_OUTPUT_DIR": out,
            "ICLR_DATA_DIR": str(data),
            "ICLR_OFFLINE": "1",
        }
        seconds, _ = time_command(
            [iclr_executable(), "table", "coldbrew/table3", "--jobs", "2", "--format", "csv"],
            env=env,
        )
    return {"seconds": seconds, "jobs": 2, "seeds": 5, "datasets": 2, "models": 6}


def tailgcn_epoch(epochs: int, dataset: str = "citeseer") -> dict[str, float]:
    """Marginal CPU and wall seconds per TailGCN epoch (``profile=cpu`` settings, 1 thread)."""
    torch.set_num_threads(1)
    ensure_data(dataset)
    timings = {}
    for count in (1, epochs):
        cfg = compose("coldbrew_tailgcn", dataset, "profile=cpu", f"method.epochs={count}")
        with tempfile.TemporaryDirectory() as out:
            cpu, wall = time.process_time(), time.perf_counter()
            tailgnn.run(cfg, Path(out), torch.device("cpu"))
            timings[count] = (time.process_time() - cpu, time.perf_counter() - wall)
    per_epoch = [(timings[epochs][i] - timings[1][i]) / (epochs - 1) for i in (0, 1)]
    return {"dataset": dataset, "epochs": epochs, "cpu_s": per_epoch[0], "wall_s": per_epoch[1]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--k", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--table", action="store_true")
    parser.add_argument("--tailgcn", type=int, default=0, metavar="EPOCHS")
    args = parser.parse_args()
    figures = {"top_k": top_k_step(args.nodes, args.dim, args.k, args.repeat)}
    t = figures["top_k"]
    summary = (
        f"Top-K virtual neighbours, {t['nodes']:,} nodes × {t['nodes']:,} candidates, dim "
        f"{t['dim']}, K = {t['k']}, 1 thread: **{t['seconds']:.1f} s** in chunks of "
        f"{t['chunk_rows']} rows; peak RSS {t['peak_rss_mb']} MB (a dense score matrix would "
        f"take {t['dense_scores_gb']} GB).\n"
    )
    if args.table:
        figures["table3"] = table_time()
        summary += (
            f"\n`iclr table coldbrew/table3 --jobs 2` from an empty store (Cora + CiteSeer, "
            f"6 models, 5 seeds): **{figures['table3']['seconds'] / 60:.1f} min** "
            f"(target < 10 min).\n"
        )
    if args.tailgcn > 1:
        figures["tailgcn"] = e = tailgcn_epoch(args.tailgcn)
        summary += (
            f"\nTailGCN on {e['dataset']}, 1 thread, {e['epochs']} epochs: **{e['cpu_s']:.2f} s "
            f"CPU** ({e['wall_s']:.2f} s wall) per epoch.\n"
        )
    write_results("coldbrew", figures, summary)


if __name__ == "__main__":
    main()
