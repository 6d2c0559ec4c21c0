"""Figures: the learning curve of a run, the per-run attribution bars, and the paper's Figure 4
(mean Shapley value of past, interaction and random agent per dataset and model, with 95% CIs)
from stored records."""

from __future__ import annotations

import csv
import json
from pathlib import Path

PLAYERS = ("past", "interaction", "random")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def learning_curve(history: Path, path: Path) -> None:
    """Training loss and validation NLL / min-ADE per epoch from ``history.csv``."""
    if not history.is_file():
        return
    rows = list(csv.DictReader(history.open()))
    if not rows:
        return
    plt = _pyplot()
    epochs = [int(r["epoch"]) for r in rows]
    keys = [k for k in ("train_loss", "val_nll", "val_min_ade") if k in rows[0]]
    fig, axes = plt.subplots(1, len(keys), figsize=(3.2 * len(keys), 2.8))
    for axis, key in zip(axes if len(keys) > 1 else [axes], keys, strict=True):
        axis.plot(epochs, [float(r[key]) for r in rows], ".-")
        axis.set_xlabel("epoch")
        axis.set_title(key)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def bars(groups: dict[str, dict[str, float]], value: str, path: Path, title: str) -> None:
    """Grouped bars: one group per key of ``groups`` (a run's or a dataset/model's summary
    metrics), bars = past / interaction / random of ``shap_<value>_*`` with CI whiskers."""
    plt = _pyplot()
    fig, axis = plt.subplots(figsize=(1.2 + 1.6 * len(groups), 3.2))
    width = 0.8 / len(PLAYERS)
    for j, player in enumerate(PLAYERS):
        xs, ys, err = [], [], [[], []]
        for i, metrics in enumerate(groups.values()):
            key = f"shap_{value}_{player}"
            if key not in metrics:
                continue
            mean = metrics[key]
            xs.append(i + (j - 1) * width)
            ys.append(mean)
            err[0].append(max(0.0, mean - metrics.get(f"{key}_lo", mean)))
            err[1].append(max(0.0, metrics.get(f"{key}_hi", mean) - mean))
        axis.bar(xs, ys, width, yerr=err, capsize=2, label=player)
    axis.axhline(0, color="black", lw=0.5)
    axis.set_xticks(range(len(groups)), list(groups), fontsize=7, rotation=20)
    axis.set_ylabel(f"Shapley value (−{value})")
    axis.set_title(title, fontsize=9)
    axis.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def figure4(results: Path, value: str, path: Path) -> dict[str, dict[str, float]]:
    """The Figure-4 bars from every trajattr record under ``results`` (``<output>/results``):
    one group per (dataset, method, extra settings), the mean over seeds of each ok record's
    metrics (CIs: the mean of the per-seed bootstrap bounds); smoke runs are left out. Returns
    the plotted groups."""
    groups: dict[str, list[dict[str, float]]] = {}
    for record_path in sorted(results.glob("trajattr*/*/*/seed=*.json")):
        record = json.loads(record_path.read_text())
        metrics = record.get("metrics", {})
        if record.get("status") != "ok" or record.get("profile") == "smoke":
            continue
        if f"shap_{value}_past" not in metrics:
            continue
        method, dataset = record_path.parts[-4], record_path.parts[-3]
        # settings beyond method/dataset/seed/profile (e.g. the Banzhaf estimator) get own bars
        extra = [
            o.rpartition(".")[2]
            for o in record.get("overrides", [])
            if o.startswith("method.") and not o.startswith("method=")
        ]
        label = "\n".join([dataset, method, *extra])
        groups.setdefault(label, []).append(metrics)
    merged = {
        name: {k: sum(m[k] for m in runs) / len(runs) for k in runs[0] if k.startswith("shap_")}
        for name, runs in groups.items()
    }
    if merged:
        bars(merged, value, path, f"mean Shapley value (−{value}), 95% bootstrap CI")
    return merged


def main() -> None:
    """``python -m iclr.methods.trajattr.plots RESULTS_DIR [nll|ade] [OUT.png]``."""
    import sys

    results = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("outputs/results")
    value = sys.argv[2] if len(sys.argv) > 2 else "nll"
    out = Path(sys.argv[3]) if len(sys.argv) > 3 else Path(f"figure4_{value}.png")
    groups = figure4(results, value, out)
    print(f"{len(groups)} groups -> {out}" if groups else f"no trajattr records under {results}")


if __name__ == "__main__":
    main()
