"""Entry point ``rim``: an item-choice model × every intensity, plus the intensity-only
models, on the official protocol.

One run prepares the splits once, fits the intensities (Hawkes on D, HawkesPoisson on V),
trains the item-choice model once and evaluates every combination the official ``Experiment``
tabulates; each metric is returned as ``<model>/<metric>`` (e.g. ``RNN-HP/user_prec``), so
table rows read different models from the same run.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from iclr.methods.common.runtime import setup_torch
from iclr.methods.rim import hawkes, intensity, item_choice
from iclr.methods.rim.data import load_splits
from iclr.methods.rim.metrics import evaluate_item_rec, evaluate_user_rec
from iclr.methods.rim.protocol import EvalSplit
from iclr.methods.rim.scores import LowRankScores, constant

ITEM_MODEL_LABELS = {"rnn": "RNN", "transformer": "Transformer"}


def evaluate_models(
    models: dict[str, LowRankScores], split: EvalSplit, seed: int
) -> dict[str, float]:
    """ItemRec and UserRec metrics of every model, keyed ``<model>/item_<m>``, ``user_<m>``."""
    out = {}
    for name, scores in models.items():
        scores = scores.with_exclude(split.exclude)
        # One tie-breaking stream per model, so adding a model never changes another's numbers.
        gen = torch.Generator().manual_seed(seed)
        item = evaluate_item_rec(split.target, scores, split.topk, gen)
        user = evaluate_user_rec(split.target, scores, split.top_c, gen)
        out.update({f"{name}/item_{k}": v for k, v in item.items()})
        out.update({f"{name}/user_{k}": v for k, v in user.items()})
    return out


@dataclass
class FittedRIM:
    """Everything fitted once per run; ``models(split)`` scores any split with it."""

    decays: np.ndarray
    hawkes: hawkes.HawkesFit
    hp_weights: np.ndarray
    label: str = ""
    network: nn.Module | None = None
    vocab: item_choice.Vocabulary | None = None
    max_steps: int = 256

    def intensities(self, split: EvalSplit) -> dict[str, LowRankScores]:
        """User intensities λ(x) at each test user's T."""
        return {
            "Pop": intensity.user_pop(split),
            "EMA": intensity.ema(split),
            "Hawkes": intensity.hawkes_scores(self.hawkes, split),
            "HP": intensity.hawkes_poisson_scores(self.hp_weights, self.decays, split),
        }

    def models(self, split: EvalSplit) -> dict[str, LowRankScores]:
        """Every model of the official ``Experiment.transform`` for this run."""
        users = self.intensities(split)
        item_pop = intensity.item_pop(split)
        out = {
            "Rand": constant(len(split.users), len(split.items)),
            "Pop": users["Pop"] * item_pop,
            "ItemPop": item_pop,
            **{name: users[name] * item_pop for name in ("EMA", "Hawkes", "HP")},
        }
        if self.network is not None:
            choice = item_choice.scores(self.network, self.vocab, split, self.max_steps)
            out[self.label] = choice
            out.update({f"{self.label}-{name}": choice * lam for name, lam in users.items()})
        return out


def fit(cfg: Any, d: EvalSplit, v: EvalSplit, out_dir: Path) -> tuple[FittedRIM, dict]:
    """Fit Hawkes (on D's histories), HawkesPoisson (on V) and the item-choice model."""
    m = cfg.method
    decays = hawkes.decays_from_scales(
        int(m.hawkes.scales), float(m.hawkes.low), float(m.hawkes.high)
    )
    start = time.perf_counter()
    hawkes_fit = intensity.fit_hawkes(d, decays, float(m.hawkes.penalty_c), int(m.hawkes.max_iter))
    weights = intensity.fit_hawkes_poisson(decays, v, float(m.hawkes_poisson.l2))
    stats = {
        "hawkes_loglik": hawkes_fit.log_likelihood,
        "hawkes_baseline": hawkes_fit.baseline,
        "hawkes_branching": float(hawkes_fit.adjacency.sum()),
        "intensity_fit_s": time.perf_counter() - start,
    }
    fitted = FittedRIM(decays, hawkes_fit, weights)
    kind = str(m.item_model)
    if kind == "none":
        return fitted, stats
    start = time.perf_counter()
    net_cfg = m[kind]
    network, vocab, train_stats = item_choice.train(
        net_cfg, kind, d, int(cfg.seed), out_dir / "history.csv"
    )
    stats.update(train_stats, item_model_train_s=time.perf_counter() - start)
    fitted.label, fitted.network, fitted.vocab = ITEM_MODEL_LABELS[kind], network, vocab
    fitted.max_steps = int(net_cfg.truncated_input_steps)
    return fitted, stats


def run(cfg: Any, out_dir: Path, device: torch.device) -> dict[str, float]:
    """Train and evaluate RIM: item-choice model × {1, Pop, EMA, Hawkes, HP} and baselines."""
    setup_torch(int(cfg.seed), cfg.hardware)
    out_dir.mkdir(parents=True, exist_ok=True)
    d, v = load_splits(cfg)
    fitted, metrics = fit(cfg, d, v, out_dir)
    models = fitted.models(d)
    start = time.perf_counter()
    metrics.update(evaluate_models(models, d, int(cfg.seed)))
    metrics["evaluate_s"] = time.perf_counter() - start
    metrics.update(d.stats())
    headline = f"{fitted.label}-HP" if fitted.label else "HP"
    metrics.update(headline_metrics(metrics, headline))
    matching = cfg.method.matching
    if matching.enabled and fitted.label:
        from iclr.methods.rim.matching import run_matching

        names = [str(n).replace("ITEM", fitted.label) for n in matching.models]
        metrics.update(run_matching(cfg, fitted, {n: models[n] for n in names}, d, v, out_dir))
    (out_dir / "rim_metrics.json").write_text(json.dumps(metrics, indent=1, sort_keys=True))
    return metrics


def headline_metrics(metrics: dict[str, float], model: str) -> dict[str, float]:
    """The headline model's metrics without the prefix (the datasets' main metric reads
    ``user_prec``)."""
    prefix = f"{model}/"
    return {k[len(prefix) :]: v for k, v in metrics.items() if k.startswith(prefix)}
