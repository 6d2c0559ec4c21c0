"""Entry point of every trajattr method: build the windows of the dataset's splits, train the
predictor (none for constant velocity), evaluate min-ADE / min-FDE / NLL with and without all
neighbours at inference (paper Table 1), then attribute performance to {past, each neighbour,
random agent} on a seeded subsample of test windows (paper Figure 4)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from iclr.cli.errors import UserError
from iclr.methods.common.runtime import setup_torch
from iclr.methods.trajattr.data import TrajData
from iclr.methods.trajattr.mixture import displacement_errors
from iclr.methods.trajattr.models import TrajectronLite, constant_velocity
from iclr.methods.trajattr.windows import Windows, build_windows


def split_windows(cfg: Any, data: TrajData) -> dict[str, Windows]:
    """Windows of train / val / test (train with ``method.train_stride``)."""
    d = cfg.dataset
    args = (int(d.history), int(d.future), float(d.radius), int(d.max_neighbors))
    stride = int(cfg.method.get("train_stride", 1))
    return {
        name: build_windows(scenes, *args, stride=stride if name == "train" else 1)
        for name, scenes in data.splits.items()
    }


def subsample(w: Windows, count: int | None, seed: int) -> Windows:
    """At most ``count`` windows, drawn without replacement from ``seed`` (all if None)."""
    if count is None or len(w) <= int(count):
        return w
    gen = torch.Generator().manual_seed(seed)
    return w.index(torch.sort(torch.randperm(len(w), generator=gen)[: int(count)]).values)


def prediction_metrics(cfg: Any, model: TrajectronLite | None, w: Windows) -> dict[str, float]:
    """min-ADE / min-FDE / NLL with interaction, without (all neighbours removed at inference)
    and the difference (model − w/o, as the paper's Diff row)."""
    m = cfg.method
    out: dict[str, float] = {"eval_windows": float(len(w))}
    if model is None:  # constant velocity: one deterministic sample, no likelihood
        ade, fde = displacement_errors(constant_velocity(w.hist, w.fut.shape[1]), w.fut)
        out.update(min_ade=float(ade.mean()), min_fde=float(fde.mean()))
        out.update(min_ade_wo=out["min_ade"], min_fde_wo=out["min_fde"])
        return out
    from iclr.methods.trajattr.train import evaluate_mixture

    for suffix, drop in (("", False), ("_wo", True)):
        ev = evaluate_mixture(model, w, int(m.samples), int(cfg.seed) + 17, drop_neighbours=drop)
        out[f"min_ade{suffix}"] = float(ev["ade"].mean())
        out[f"min_fde{suffix}"] = float(ev["fde"].mean())
        out[f"nll{suffix}"] = float(ev["nll"].mean())
    for key in ("min_ade", "min_fde", "nll"):
        out[f"{key}_diff"] = out[key] - out[f"{key}_wo"]
    return out


def run_on(
    cfg: Any, data: TrajData, out_dir: Path, windows: dict[str, Windows] | None = None
) -> dict[str, float]:
    """The whole run on already loaded data (tests pass the loader's output and may pass the
    windows of ``split_windows`` to share them between runs)."""
    m = cfg.method
    kind = str(m.model)
    out_dir.mkdir(parents=True, exist_ok=True)
    seed = int(cfg.seed)
    windows = windows if windows is not None else split_windows(cfg, data)
    if len(windows["test"]) == 0 or len(windows["train"]) == 0:
        raise UserError(
            f"dataset {cfg.dataset.name}: no window with {cfg.dataset.history} past + "
            f"{cfg.dataset.future} future steps in the train or test split"
        )
    metrics: dict[str, float] = {f"{name}_windows": float(len(w)) for name, w in windows.items()}
    model = None
    if kind == "trajectron":
        from iclr.methods.trajattr.plots import learning_curve
        from iclr.methods.trajattr.train import train

        d = cfg.dataset
        model = TrajectronLite(m, float(d.dt), float(d.input_scale), int(d.future))
        metrics.update(train(model, windows["train"], windows["val"], m, seed, out_dir))
        learning_curve(out_dir / "history.csv", out_dir / "learning_curve.png")
    else:  # no training: the history has one row, so every run has a history.csv
        from iclr.methods.common.history import History

        with History(out_dir / "history.csv") as history:
            history.write(epoch=0, step=0, train_loss=float("nan"))
    test = subsample(windows["test"], m.get("eval_windows"), seed)
    metrics.update(prediction_metrics(cfg, model, test))
    a = m.get("attribution")
    if model is not None and a is not None and a.enabled:
        from iclr.methods.trajattr.attribution import attribute, summarise
        from iclr.methods.trajattr.plots import bars

        chosen = subsample(windows["test"], a.windows, seed + 1)
        att = attribute(model, chosen, windows["train"], a, seed + 2)
        metrics.update(summarise(att, seed + 3, float(a.margin)))
        save_attribution(att, chosen, out_dir / "attribution.csv")
        label = f"{cfg.dataset.name} {m.name} ({a.estimator}, {a.removal})"
        for value in ("nll", "ade"):
            bars({label: metrics}, value, out_dir / f"attribution_{value}.png", label)
    (out_dir / "trajattr_metrics.json").write_text(json.dumps(metrics, indent=1, sort_keys=True))
    return metrics


def save_attribution(att: Any, w: Windows, path: Path) -> None:
    """One row per attributed window: scene, step, players and φ of past / interaction /
    random per value kind."""
    import csv

    from iclr.methods.trajattr.attribution import VALUE_KINDS

    inter = att.interaction
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        cols = [f"{p}_{v}" for v in VALUE_KINDS for p in ("past", "interaction", "random")]
        writer.writerow(["scene", "step", "players", "exact", *cols])
        for i in range(len(w)):
            vals = [
                f"{float(x[i, j]):.6g}"
                for j in range(len(VALUE_KINDS))
                for x in (att.past, inter, att.random)
            ]
            writer.writerow(
                [int(w.scene[i]), int(w.step[i]), int(att.n_players[i]), int(att.exact[i]), *vals]
            )


def run(cfg: Any, out_dir: Path, device: torch.device) -> dict[str, float]:
    """Train and evaluate one trajattr method on one dataset (CPU; ``device`` is unused)."""
    from iclr.data import load_dataset

    setup_torch(int(cfg.seed), cfg.hardware)
    data = load_dataset(cfg.dataset, cfg.paths.data_dir, cfg.paths.mirror)
    return run_on(cfg, data, out_dir)
