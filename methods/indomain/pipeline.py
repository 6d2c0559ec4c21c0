"""Entry point of every ``indomain_*`` method: one model × one dataset × one split.

``run`` loads the split (``dataset.split``), draws a seeded subsample of the train region
(``method.n_train``; a further ``method.n_val`` train-region images monitor training) and of the
test region (``method.n_test``; null = all), trains ``method.model`` and returns the official
scores on the test images (``r2`` = mean per-factor R² against the full-grid variance, ``r2_<f>``,
``mse_<f>``), the one-factor-OOD modularity subsets and the collapse analysis. The run folder
gets ``history.csv``, ``learning_curves.png``, ``per_factor.csv``/``.png`` and ``collapse.png``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from iclr.cli.errors import UserError
from iclr.methods.common.curves import plot_history
from iclr.methods.common.runtime import setup_torch
from iclr.methods.indomain import analysis, plots
from iclr.methods.indomain.data import Part, SplitData, load_grid
from iclr.methods.indomain.metrics import factor_key, grid_variance, r_squared, scores
from iclr.methods.indomain.models import PCL, BetaVAE, ReadOut, build
from iclr.methods.indomain.pairs import transition_partners
from iclr.methods.indomain.train import Batches, predict, train_pcl, train_regressor, train_vae


def _sample(n_total: int, n: int | None, rng: np.random.Generator) -> np.ndarray:
    """Sorted rows of a seeded subsample (all rows when ``n`` is null or too large)."""
    if n is None or n >= n_total:
        return np.arange(n_total)
    return np.sort(rng.choice(n_total, int(n), replace=False))


def _batches(part: Part, rows: np.ndarray, split: SplitData, m: Any, device) -> Batches:
    images = part.images(rows)
    scale = 1.0 if images.max(initial=0) <= 1 else 1 / 255
    return Batches(
        images, split.spec.normalise(part.labels[rows]), scale, int(m.resolution), device
    )


def _pretrained(model: torch.nn.Module, m: Any) -> None:
    """Load ``method.pretrained_weights`` (a torchvision-layout state dict) minus the head."""
    path = m.get("pretrained_weights")
    if not path:
        return
    if not Path(path).is_file():
        raise UserError(f"method.pretrained_weights={path} does not exist; give a state-dict file")
    state = torch.load(path, map_location="cpu", weights_only=True)
    head = {k for k in state if k.startswith(("fc.", "classifier."))}
    own = model.state_dict()
    state = {k: v for k, v in state.items() if k not in head and k in own}
    if "conv1.weight" in state and state["conv1.weight"].shape != own["conv1.weight"].shape:
        # grey images: sum the RGB filters, as a grey image replicated to 3 channels would give
        state["conv1.weight"] = state["conv1.weight"].sum(1, keepdim=True)
    if len(state) < len(own) // 2:
        raise UserError(
            f"method.pretrained_weights={path} does not match the model's torchvision layout "
            f"({len(state)} of {len(own)} tensors match); give a torchvision ResNet state dict"
        )
    model.load_state_dict(state, strict=False)


def _model(
    cfg: Any,
    split: SplitData,
    train: Batches,
    rows: np.ndarray,
    rng,
    out_dir: Path,
    device,
    metrics: dict,
) -> torch.nn.Module:
    """The model to fit by regression: a supervised net, or a frozen pre-trained representation
    (β-VAE, PCL on the train images; their pre-training statistics go into ``metrics``)."""
    m, spec = cfg.method, split.spec
    outputs, channels, kind = len(spec.sizes), spec.channels, str(m.model)
    if kind in ("betavae", "pcl") and int(m.resolution) != 64:
        raise UserError(f"{kind}'s conv encoder works at 64×64: use method.resolution=64")
    if kind == "betavae":
        vae = BetaVAE(channels, int(m.latents)).to(device)
        metrics.update(train_vae(vae, train, m, int(cfg.seed), out_dir / "vae_history.csv"))
        return ReadOut(vae, outputs).to(device)
    if kind == "pcl":
        labels = split.train.labels
        kept, partner_rows = transition_partners(
            labels[rows], labels, spec, rng, float(m.transition_spread)
        )
        anchors = Batches(train.images[kept], train.targets[kept], train.pixel_scale, 64, device)
        partners = _batches(split.train, partner_rows, split, m, device)
        pcl = PCL(channels, int(m.latents)).to(device)
        history = out_dir / "pcl_history.csv"
        metrics.update(train_pcl(pcl, anchors, partners, m, int(cfg.seed), history))
        metrics["pcl_pairs"] = float(len(kept))
        return ReadOut(pcl, outputs).to(device)
    model = build(kind, outputs, channels, int(m.resolution))
    _pretrained(model, m)
    return model.to(device)


def _report(pred: np.ndarray, test: Batches, labels: np.ndarray, split: SplitData) -> tuple:
    """(metrics, per-factor rows, collapse pairs) of the test predictions."""
    spec = split.spec
    metrics = scores(pred, test.targets, spec)
    rows = [
        {"subset": "test", "factor": name, "r2": metrics[f"r2_{factor_key(name)}"], "n": len(pred)}
        for name in spec.names
    ]
    mod, mod_rows = analysis.modularity(pred, test.targets, labels, spec, split.ood_values)
    col, pairs = analysis.collapse(pred, test.targets, labels, spec, split.ood_values)
    metrics.update(mod, **col)
    return metrics, rows + mod_rows, pairs


def run(cfg: Any, out_dir: Path, device: torch.device) -> dict[str, float]:
    """Train ``method.model`` on ``dataset.split`` and return the benchmark's scores."""
    resolved = setup_torch(int(cfg.seed), cfg.hardware)
    device = resolved if device is None else device
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    m = cfg.method
    if 64 % int(m.resolution):
        raise UserError(f"method.resolution={m.resolution} must divide 64 (64, 32, 16)")
    split = load_grid(cfg).split(str(cfg.dataset.split))
    rng = np.random.default_rng(int(cfg.seed))
    n_val = int(m.n_val) if m.n_val else 0
    wanted = None if m.n_train is None else int(m.n_train) + n_val
    train_rows = _sample(len(split.train), wanted, rng)
    rng.shuffle(train_rows)  # the validation rows are a random part of the sample
    val_rows, train_rows = np.sort(train_rows[:n_val]), np.sort(train_rows[n_val:])
    test_rows = _sample(len(split.test), m.n_test, rng)
    train = _batches(split.train, train_rows, split, m, device)
    val = _batches(split.train, val_rows, split, m, device)
    test = _batches(split.test, test_rows, split, m, device)
    variance = grid_variance(split.spec)

    def mean_r2(pred: np.ndarray, target: np.ndarray) -> float:
        return float(r_squared(pred, target, variance).mean())

    metrics: dict[str, float] = {}
    model = _model(cfg, split, train, train_rows, rng, out_dir, device, metrics)
    history = out_dir / "history.csv"
    metrics.update(train_regressor(model, train, val, m, int(cfg.seed), history, mean_r2))

    report, rows, pairs = _report(predict(model, test), test, split.test.labels[test_rows], split)
    metrics.update(report)
    if len(val.images):
        metrics["val_r2"] = mean_r2(predict(model, val), val.targets)
    metrics.update(n_train=len(train_rows), n_val=len(val_rows), n_test=len(test_rows))
    metrics["train_share_of_grid"] = len(split.train) / (len(split.train) + len(split.test))

    title = f"{m.name} · {split.label} · {split.variant} · seed {cfg.seed}"
    plot_history(history, out_dir / "learning_curves.png")  # the job runner's file name
    plots.write_per_factor(rows, out_dir / "per_factor.csv", out_dir / "per_factor.png", title)
    plots.collapse_plot(
        pairs,
        spec=split.spec,
        ood_values=split.ood_values,
        path=out_dir / "collapse.png",
        title=title,
    )
    (out_dir / "indomain_metrics.json").write_text(json.dumps(metrics, indent=1, sort_keys=True))
    return metrics
