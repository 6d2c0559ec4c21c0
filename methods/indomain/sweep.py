"""A scaled-down ``indomain/main`` without the table runner: every (method, dataset, split,
seed) of a profile, one after another, then mean ± std per cell as Markdown.

Each job goes through the project's job runner with ``profile=<profile>`` (its record lands in
the store, so ``iclr table indomain/main`` reuses it); its run folder is
``<out>/<method>/<dataset>/<split>/seed<k>/`` (metrics in ``indomain_metrics.json``, the CSV and
the plots). Finished runs are skipped, so the sweep resumes. Unlike ``iclr table``, it can run a
subset of the cells (some models, datasets, splits or seeds).

Run: ``python -m iclr.methods.indomain.sweep --out DIR --methods indomain_cnn --seeds 0 1 2``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from iclr.methods.indomain.splits import VARIANTS

DATASETS = ("dsprites_like", "shapes3d_like")


def run_one(method: str, dataset: str, split: str, seed: int, profile: str, out: Path) -> dict:
    """One job through the project's job runner (so its record lands in the store, exactly as
    ``iclr run method=M dataset=D dataset.split=S seed=K profile=P``), or the stored metrics of
    a run that already finished in ``out``."""
    folder = out / method / dataset / split / f"seed{seed}"
    done = folder / "indomain_metrics.json"
    if done.is_file():
        return json.loads(done.read_text())
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from iclr.cli.job import execute_job
    from iclr.cli.locations import conf_dir

    overrides = [
        f"profile={profile}",
        f"method={method}",
        f"dataset={dataset}",
        f"dataset.split={split}",
        f"seed={seed}",
    ]
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
        cfg = compose(config_name="config", overrides=overrides)
    GlobalHydra.instance().clear()
    start = time.perf_counter()
    outcome = execute_job(cfg, folder, overrides)
    if outcome.state == "failed":
        raise RuntimeError(f"{' '.join(overrides)} failed: see {folder}")
    metrics = dict(outcome.record.metrics)
    metrics["wall_s"] = time.perf_counter() - start
    done.write_text(json.dumps(metrics, indent=1, sort_keys=True))
    return metrics


def summary(out: Path, methods: list[str], datasets: list[str], metric: str) -> str:
    """Markdown: rows = methods, columns = dataset × split, mean ± std (n) × 100."""
    header = [f"{d} {s}" for d in datasets for s in VARIANTS]
    lines = ["| model | " + " | ".join(header) + " |", "|---" * (len(header) + 1) + "|"]
    for method in methods:
        cells = []
        for d in datasets:
            for s in VARIANTS:
                values = _values(out, method, d, s, metric)
                if not values:
                    cells.append("—")
                    continue
                std = statistics.stdev(values) if len(values) > 1 else 0.0
                cells.append(
                    f"{100 * statistics.fmean(values):.1f} ± {100 * std:.1f} ({len(values)})"
                )
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _values(out: Path, method: str, dataset: str, split: str, metric: str) -> list[float]:
    files = sorted((out / method / dataset / split).glob("seed*/indomain_metrics.json"))
    return [json.loads(p.read_text())[metric] for p in files]


def _pm(values: list[float], scale: float = 100.0) -> str:
    if not values:
        return "—"
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{scale * statistics.fmean(values):.1f} ± {scale * std:.1f}"


def details(out: Path, methods: list[str], datasets: list[str]) -> str:
    """Markdown: per-factor R² per split, and the modularity / collapse numbers (× 100)."""
    lines = []
    for dataset in datasets:
        from iclr.methods.indomain.data import DSPRITES, SHAPES3D
        from iclr.methods.indomain.metrics import factor_key

        spec = DSPRITES if dataset.startswith("dsprites") else SHAPES3D
        keys = [f"r2_{factor_key(n)}" for n in spec.names]
        lines += [
            f"\n{dataset}: per-factor R² (× 100)\n",
            "| model | split | " + " | ".join(spec.names) + " |",
            "|---" * (len(keys) + 2) + "|",
        ]
        for method in methods:
            for split in VARIANTS:
                if _values(out, method, dataset, split, "r2"):
                    cells = [_pm(_values(out, method, dataset, split, k)) for k in keys]
                    lines.append(f"| {method} | {split} | " + " | ".join(cells) + " |")
        lines += [
            f"\n{dataset}: one factor OOD (× 100; gap_closed: 100 = correct, 0 = stuck)\n",
            "| model | split | R² of the OOD factor | R² of the others | gap closed |"
            " closer to train |",
            "|---|---|---|---|---|---|",
        ]
        for method in methods:
            for split in ("interpolation", "extrapolation"):
                if not _values(out, method, dataset, split, "r2"):
                    continue
                cells = [
                    _pm(_values(out, method, dataset, split, k))
                    for k in (
                        "modularity/r2_ood",
                        "modularity/r2_others",
                        "collapse/gap_closed",
                        "collapse/closer_to_train",
                    )
                ]
                lines.append(f"| {method} | {split} | " + " | ".join(cells) + " |")
        ood = [n for n, fixed in zip(spec.names, spec.never_split, strict=True) if not fixed]
        lines += [
            f"\n{dataset}, extrapolation: gap closed per OOD factor (× 100)\n",
            "| model | " + " | ".join(ood) + " |",
            "|---" * (len(ood) + 1) + "|",
        ]
        for method in methods:
            if _values(out, method, dataset, "extrapolation", "r2"):
                cells = [
                    _pm(
                        _values(
                            out,
                            method,
                            dataset,
                            "extrapolation",
                            f"collapse_{factor_key(n)}/gap_closed",
                        )
                    )
                    for n in ood
                ]
                lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--methods", nargs="+", default=["indomain_cnn"])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--splits", nargs="+", default=list(VARIANTS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--metric", default="r2")
    parser.add_argument("--summary-only", action="store_true")
    parser.add_argument("--details", action="store_true", help="per-factor and OOD tables too")
    args = parser.parse_args()
    if not args.summary_only:
        for method in args.methods:
            for dataset in args.datasets:
                for seed in args.seeds:
                    for split in args.splits:
                        m = run_one(method, dataset, split, seed, args.profile, args.out)
                        print(
                            f"{method} {dataset} {split} seed {seed}: r2 {m['r2']:.3f} "
                            f"({m.get('wall_s', 0):.0f} s)",
                            flush=True,
                        )
    print(summary(args.out, args.methods, args.datasets, args.metric))
    if args.details:
        print(details(args.out, args.methods, args.datasets))


if __name__ == "__main__":
    main()
