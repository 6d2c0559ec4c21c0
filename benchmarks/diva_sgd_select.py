"""Validation-only choice of the SGD settings (epochs, step size) of DIVA's Table 1 baselines.

Active Bias (``method=diva_active_bias``) and L2RW (``method=diva_l2rw``) train a linear softmax
head by mini-batch SGD; the DIVA paper gives none of its settings. This script picks each
method's number of epochs and step size (``method.lr``, in units of 1/mean‖z‖²) on data carved
from the *training* rows only; the test rows are dropped before anything trains, so no test
error is computed at all (issue 18: the earlier choice came from pilot runs that printed it).

Protocol, fixed before any run:

- grid: ``LRS`` × ``EPOCHS``. Neither method has a schedule (constant step, momentum, weight
  decay; Active Bias's history only reads earlier epochs), so the state after e epochs of a
  longer run is the final state of an e-epoch run: one run per step size, read after each
  epoch count (``tests/test_diva_baselines.py`` checks this);
- data: the five analogue columns of ``diva/table1`` (``COLUMNS``), clean labels, selection
  seeds ``SEEDS`` (no table seed). Per seed, a seeded ``HOLDOUT`` of the training rows is set
  aside as the selection set; the method sees only the other rows as its training set (L2RW
  draws its own 20% meta-validation set from those, so the selection rows are never its
  validation rows). Features are centred on the method's training rows, as in a run;
- criterion: per method, the grid point with the lowest mean selection-set error of the
  method itself (its weighted head; Active Bias = threshold closeness, L2RW = ``train_on=rest``)
  over columns and seeds; ties go to fewer epochs, then the smaller step. The uniform-weight
  control heads use their method's settings (not trained here: they take no part in the choice).

Run: ``python benchmarks/diva_sgd_select.py [--seeds 100,101,102]``; writes
``results/diva/sgd_select.md`` and ``.json`` (selection-set errors only). The chosen values are
the ``epochs`` / ``lr`` of ``conf/method/diva_active_bias.yaml`` and ``diva_l2rw.yaml``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Sequence
from typing import Any

import torch
from _common import REPO, compose, machine, mean_std, pm

from iclr.methods.diva import active_bias, l2rw
from iclr.methods.diva.linear_head import SGDSettings, centred
from iclr.methods.diva.tasks import FeatureTask, load_task

LRS = (1.0, 5.0, 20.0)
EPOCHS = (15, 30, 60)
SEEDS = (100, 101, 102)
HOLDOUT = 0.2
HOLDOUT_STREAM = (
    40_000  # offset of the holdout permutation's seed (linear_head.STREAMS use 1e4–3e4)
)
CNN = ("backbone@dataset.backbone=cnn",)
COLUMNS: dict[str, tuple[str, tuple[str, ...]]] = {  # name: (dataset, overrides), as diva/table1
    "MNIST-5k RF": ("mnist5k", ()),
    "MNIST-5k CNN": ("mnist5k", CNN),
    "digits RF": ("digits", ()),
    "digits CNN": ("digits", CNN),
    "SICK MiniLM": ("sick", ()),
}
METHODS = ("diva_active_bias", "diva_l2rw")
OUT = REPO / "results" / "diva" / "sgd_select"


def selection_task(task: FeatureTask, fraction: float, seed: int) -> FeatureTask:
    """The training rows only: a seeded ``fraction`` of them become the evaluation rows (in the
    ``z_test`` / ``labels_test`` slots, where a run's per-epoch error is measured), the rest the
    training rows. The task's test rows are dropped."""
    n = len(task.labels_train)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed + HOLDOUT_STREAM))
    held, kept = order[: round(fraction * n)], order[round(fraction * n) :]
    return FeatureTask(
        task.z_train[kept],
        task.labels_train[kept],
        task.z_train[held],
        task.labels_train[held],
        task.num_classes,
    )


def curve(method: str, cfg: Any, task: FeatureTask, seed: int) -> list[float]:
    """Selection-set error of the method after every epoch, trained with ``cfg.method``'s
    settings (as its run trains it, clean labels)."""
    m, settings = cfg.method, SGDSettings.from_config(cfg.method)
    labels = task.labels_train
    found: list[float] = []

    def log(**row: float) -> None:
        # the runs' per-epoch log measures the error on task.z_test: here, the selection rows
        found.append(row["test_error"])

    if method == "diva_active_bias":
        warmup, eps = int(m.warmup), float(m.eps)
        active_bias.train(task, labels, settings, m.weighting, eps, warmup, seed, log)
    else:
        rest, val_rows = l2rw.split_validation(len(labels), float(m.val_fraction), seed)
        l2rw.train(
            task, rest, labels, (task.z_train[val_rows], labels[val_rows]), settings, seed, log
        )
    return found


def measure(seed: int, errors: dict[str, Any]) -> None:
    """Append one selection seed's errors: ``errors[method][column][lr][epochs]`` = one value
    per seed."""
    for column, (dataset, overrides) in COLUMNS.items():
        task = None  # the features depend on the dataset, backbone and seed only
        for method in METHODS:
            for lr in LRS:
                cfg = compose(
                    method,
                    dataset,
                    *overrides,
                    f"seed={seed}",
                    f"method.lr={lr}",
                    f"method.epochs={max(EPOCHS)}",
                    "method.label_noise=0.0",
                )
                start = time.perf_counter()
                if task is None:
                    task = centred(selection_task(load_task(cfg), HOLDOUT, seed))
                found = curve(method, cfg, task, seed)
                for e in EPOCHS:
                    errors[method][column][lr][e].append(found[e - 1])
                picked = {e: round(found[e - 1], 4) for e in EPOCHS}
                seconds = time.perf_counter() - start
                print(f"{column} seed {seed} {method} lr {lr:g}: {picked} ({seconds:.1f} s)")


def overall(
    per_column: dict[str, dict[float, dict[int, list[float]]]], lr: float, e: int
) -> list[float]:
    """Per seed, the mean over columns of one grid point's selection-set error."""
    columns = [per_column[c][lr][e] for c in per_column]
    return [statistics.fmean(values) for values in zip(*columns, strict=True)]


def choose(per_column: dict[str, dict[float, dict[int, list[float]]]]) -> tuple[float, int]:
    """(lr, epochs) with the lowest mean selection-set error over columns and seeds; ties go to
    fewer epochs, then the smaller step."""
    points = [(lr, e) for lr in LRS for e in EPOCHS]
    return min(points, key=lambda p: (statistics.fmean(overall(per_column, *p)), p[1], p[0]))


def render(errors: dict[str, Any], seeds: Sequence[int], seconds: float) -> str:
    """Per method, every grid point's selection-set error (%): mean ± std over seeds of the mean
    over columns, and per column the mean over seeds; the choice marked. Markdown."""
    lines = [
        "### diva/sgd_select: SGD settings of Table 1's baselines, chosen on held-out train rows",
        "",
        f"Selection-set error (%) of each method on {HOLDOUT:.0%} of the training rows held out "
        f"(clean labels; seeds {','.join(map(str, seeds))}, none a table seed; the test rows are "
        "dropped before training, no test error is computed). `lr` in units of 1/mean‖z‖². "
        "Criterion: the lowest mean of the method's own error over the five columns and the "
        "seeds (ties: fewer epochs, then smaller lr). "
        "Generated by `python benchmarks/diva_sgd_select.py`.",
        "",
    ]
    for method in METHODS:
        lr_best, e_best = choose(errors[method])
        lines += [f"#### {method}: chosen lr {lr_best:g}, {e_best} epochs", ""]
        lines += ["| lr | epochs | mean over columns | " + " | ".join(COLUMNS) + " |"]
        lines += ["|" + " ---: |" * (len(COLUMNS) + 3)]
        for lr in LRS:
            for e in EPOCHS:
                mark = " **(chosen)**" if (lr, e) == (lr_best, e_best) else ""
                cells = [f"{100 * statistics.fmean(errors[method][c][lr][e]):.2f}" for c in COLUMNS]
                total = pm(mean_std(overall(errors[method], lr, e)), digits=2)
                lines.append(f"| {lr:g} | {e}{mark} | {total} | " + " | ".join(cells) + " |")
        lines.append("")
    info = machine()
    lines.append(
        f"Measured {info['measured_at']} at git {info['git']}, {seconds / 60:.1f} min "
        f"(1 thread, load average {info['load_avg_1m'][0]}–{info['load_avg_1m'][1]})."
    )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", default=",".join(map(str, SEEDS)))
    seeds = [int(s) for s in parser.parse_args().seeds.split(",")]
    torch.set_num_threads(1)
    errors: dict[str, Any] = {
        m: {c: {lr: {e: [] for e in EPOCHS} for lr in LRS} for c in COLUMNS} for m in METHODS
    }
    start = time.perf_counter()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    for done, seed in enumerate(seeds, 1):
        measure(seed, errors)
        # written after every seed, so that an interrupted selection keeps its finished seeds
        text = render(errors, seeds[:done], time.perf_counter() - start)
        OUT.with_suffix(".md").write_text(text)
        chosen = {m: dict(zip(("lr", "epochs"), choose(errors[m]), strict=True)) for m in METHODS}
        record = {"seeds": seeds[:done], "chosen": chosen, "errors": errors}
        OUT.with_suffix(".json").write_text(json.dumps(record, indent=1) + "\n")
    print(text)


if __name__ == "__main__":
    main()
