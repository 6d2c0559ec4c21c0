"""Framework overhead: ``iclr run method=gcn dataset=cora --force`` against a bare PyG script.

Both are timed as whole subprocesses (Python start-up, imports, data loading, 200 epochs, output):

* ``iclr run method=gcn dataset=cora --force`` with a fresh ``ICLR_OUTPUT_DIR`` per run (nothing
  cached; the record, history and Hydra run folder are written as usual);
* ``python benchmarks/bare_gcn.py``: the textbook PyG GCN (``examples/gcn.py``) on the same
  Planetoid files (``$ICLR_DATA_DIR/planetoid``), one thread, seed 0.

The data is fetched into the data root first and ``iclr run`` runs once untimed (PyG's
``processed/`` cache, page cache); then the two alternate ``--repeat`` times and the medians are
reported with their ratio (target: iclr ≤ 1.2 × bare) and both test accuracies. For context it
also times ``python -c "import torch, torch_geometric"``, the import floor both pay.

Run (about 1.5 min) from a scratch folder, with the data root and mirror set::

    export ICLR_DATA_DIR=/tmp/bench/data ICLR_DATA_MIRROR=/path/to/mirror ICLR_OFFLINE=1
    python /path/to/benchmarks/overhead.py [--repeat 3]

It writes ``benchmarks/results/overhead.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from _common import HERE, ensure_data, iclr_executable, median, time_command, write_results

TARGET_RATIO = 1.2


def run_iclr(env: dict[str, str]) -> tuple[float, dict[str, Any]]:
    """Wall time of one uncached ``iclr run`` and the metrics of the record it wrote."""
    with tempfile.TemporaryDirectory(prefix="iclr-bench-") as out:
        seconds, _ = time_command(
            [iclr_executable(), "run", "method=gcn", "dataset=cora", "--force"],
            env={**env, "ICLR_OUTPUT_DIR": out},
        )
        (record_path,) = Path(out, "results", "gcn", "cora").glob("*/seed=0.json")
        record = json.loads(record_path.read_text())
    return seconds, {**record["metrics"], "runtime_s": record["runtime_s"]}


def run_bare(env: dict[str, str]) -> tuple[float, dict[str, Any]]:
    """Wall time of one ``bare_gcn.py`` run and the JSON line it printed."""
    seconds, out = time_command([sys.executable, str(HERE / "bare_gcn.py")], env=env)
    return seconds, json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    data_root = ensure_data("cora")
    env = {**os.environ, "ICLR_DATA_DIR": str(data_root), "CI": "1"}
    run_iclr(env)  # warm-up: PyG processed/ cache, page cache
    iclr_s, bare_s, import_s = [], [], []
    iclr_metrics: dict[str, Any] = {}
    bare_metrics: dict[str, Any] = {}
    for _ in range(args.repeat):
        seconds, iclr_metrics = run_iclr(env)
        iclr_s.append(seconds)
        seconds, bare_metrics = run_bare(env)
        bare_s.append(seconds)
        import_s.append(
            time_command([sys.executable, "-c", "import torch, torch_geometric"], env=env)[0]
        )

    iclr_wall, bare_wall, import_wall = median(iclr_s), median(bare_s), median(import_s)
    ratio = iclr_wall / bare_wall
    figures = {
        "repeat": args.repeat,
        "iclr_run_wall_s": iclr_wall,
        "bare_pyg_wall_s": bare_wall,
        "import_torch_pyg_wall_s": import_wall,
        "ratio_iclr_vs_bare": ratio,
        "target_ratio": TARGET_RATIO,
        "meets_target": ratio <= TARGET_RATIO,
        "iclr_test_acc": iclr_metrics["test_acc"],
        "bare_test_acc": bare_metrics["test_acc"],
        "iclr_best_epoch": iclr_metrics["best_epoch"],
        "bare_best_epoch": bare_metrics["best_epoch"],
        "iclr_job_runtime_s": iclr_metrics["runtime_s"],
        "iclr_outside_job_s": iclr_wall - iclr_metrics["runtime_s"],
        "iclr_beyond_import_floor_s": iclr_wall - import_wall,
        "bare_beyond_import_floor_s": bare_wall - import_wall,
        "iclr_train_ms_per_epoch_mean": iclr_metrics["train_ms_per_epoch"],
        "bare_train_ms_per_epoch_median": bare_metrics["median_epoch_ms"],
        "all_s": {"iclr": iclr_s, "bare": bare_s, "import_torch_pyg": import_s},
    }
    summary = (
        f"| command (seed 0, 200 epochs, 1 thread) | median wall (s, n={args.repeat}) "
        "| test acc | train ms/epoch |\n|---|---|---|---|\n"
        f"| `iclr run method=gcn dataset=cora --force` | {iclr_wall:.2f} | "
        f"{iclr_metrics['test_acc']:.3f} | {iclr_metrics['train_ms_per_epoch']:.1f} (mean) |\n"
        f"| `python benchmarks/bare_gcn.py` (textbook PyG) | {bare_wall:.2f} | "
        f"{bare_metrics['test_acc']:.3f} | {bare_metrics['median_epoch_ms']:.1f} (median) |\n"
        f"| `python -c 'import torch, torch_geometric'` | {import_wall:.2f} | | |\n\n"
        f"iclr / bare = **{ratio:.2f}×** (target ≤ {TARGET_RATIO}×: "
        f"{'met' if ratio <= TARGET_RATIO else 'NOT met'}). Beyond the import floor: iclr "
        f"{iclr_wall - import_wall:.2f} s, bare {bare_wall - import_wall:.2f} s. Inside the "
        f"iclr job (lazy torch/PyG imports, data, 200 epochs, record): "
        f"{iclr_metrics['runtime_s']:.2f} s; outside it (Python, Typer, Hydra, summary): "
        f"{iclr_wall - iclr_metrics['runtime_s']:.2f} s."
    )
    write_results("overhead", figures, summary)


if __name__ == "__main__":
    main()
