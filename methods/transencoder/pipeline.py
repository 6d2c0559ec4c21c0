"""Entry points ``transencoder`` (distillation cycles, then bi and cross evaluation) and
``transencoder_eval`` (score one checkpoint on the seven test sets in an explicit mode).

Metrics (Spearman x100; sets ``sts12``..``sts16``, ``stsb``, ``sickr`` and ``avg`` over the 7):
``start/<set>`` the start bi-encoder, ``bi/<set>`` and ``cross/<set>`` the Trans-Encoder
bi- and cross-encoder of the best dev cycle (mutual: the two models' averaged scores, and each
model as ``<model>/bi/<set>``), ``cycle<c>/dev_<mode>``, ``best_cycle_<mode>`` and run facts.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import torch

from iclr.cli.errors import UserError
from iclr.methods.common.history import History
from iclr.methods.common.runtime import setup_torch
from iclr.methods.transencoder import data as te_data
from iclr.methods.transencoder.models import (
    Start,
    check_available,
    checkpoint_kind,
    ensure_offline,
    make_bi,
    resolve,
    starts_from_cfg,
)
from iclr.methods.transencoder.scoring import evaluate


def load_raw(dataset_cfg: Any, cfg: Any) -> Any:
    """Fetch (mirror or official source) and load one dataset of the manifest."""
    from iclr.data import load_dataset

    return load_dataset(dataset_cfg, cfg.paths.data_dir, cfg.paths.get("mirror"))


def load_benchmark(cfg: Any) -> tuple[te_data.PairPool, te_data.EvalSet, dict]:
    """(label-free pool, STS-B dev, the seven test sets) as the method config asks."""
    from omegaconf import OmegaConf

    d, m = cfg.dataset, cfg.method
    sts = load_raw(d, cfg)
    sick = load_raw(OmegaConf.create({"name": str(d.sick_dataset)}), cfg)
    pool = te_data.build_pool(
        te_data.pool_sources(sts, sick),
        include=list(m.pool.sources),
        size=m.pool.get("size"),
        seed=int(m.pool.seed),
    )
    dev = te_data.dev_set(sts, m.dev.get("size"), int(m.dev.seed))
    size = m.eval.get("test_size")
    tests = {k: te_data.subsample(v, size) for k, v in te_data.test_sets(sts, sick).items()}
    return pool, dev, tests


def _start_metrics(
    start: Start, tests: dict, dev: te_data.EvalSet, cfg: Any, device: torch.device
) -> dict:
    """The start bi-encoder's test and dev Spearman, cached under the data root (it does not
    depend on the seed, and the 7-set evaluation is the slowest part of a CPU run)."""
    m = cfg.method
    length = int(m.eval.bi_max_seq_length)
    digest = hashlib.sha256()
    digest.update(f"{resolve(start.bi)}\0{start.pooling}\0{length}\0".encode())
    for e in [*tests.values(), dev]:
        digest.update(f"{e.name}\0{len(e)}\0".encode())
        digest.update("\0".join([*e.s1, *e.s2]).encode())
    cache = Path(cfg.paths.data_dir) / "cache" / "transencoder" / f"{digest.hexdigest()[:24]}.json"
    if cache.is_file():
        return json.loads(cache.read_text())
    model = make_bi(start, length, device)
    out = evaluate([model], "bi", tests, int(m.score_batch_size))
    out["dev"] = evaluate([model], "bi", {"dev": dev}, int(m.score_batch_size))["dev"]
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".part")
    tmp.write_text(json.dumps(out))
    tmp.replace(cache)
    return out


def _prefixed(prefix: str, values: dict[str, float]) -> dict[str, float]:
    return {f"{prefix}/{k}": v for k, v in values.items()}


def run(cfg: Any, out_dir: Path, device: torch.device) -> dict[str, float]:
    """Trans-Encoder: distillation cycles on the label-free pool, best dev cycle per mode,
    then Spearman x100 on the seven test sets in bi and cross mode."""
    from iclr.methods.transencoder.distill import best_models, run_cycles
    from iclr.methods.transencoder.plots import learning_curve

    device = setup_torch(int(cfg.seed), cfg.hardware)
    ensure_offline()
    out_dir.mkdir(parents=True, exist_ok=True)
    m = cfg.method
    modes = [str(x) for x in m.eval.modes]
    if not modes:
        raise UserError(f"method.eval.modes={modes}: list bi and/or cross explicitly")
    starts = starts_from_cfg(m)
    check_available(starts)
    pool, dev, tests = load_benchmark(cfg)
    metrics: dict[str, float] = {"pool_pairs": float(len(pool)), "dev_pairs": float(len(dev))}
    for k, start in enumerate(starts):
        prefix = "start" if k == 0 else f"start/{start.name}"
        metrics.update(_prefixed(prefix, _start_metrics(start, tests, dev, cfg, device)))
    begin = time.perf_counter()
    with History(out_dir / "history.csv") as history:
        tracks, log = run_cycles(starts, pool, dev, m, device, int(cfg.seed), history)
    metrics["train_s"] = time.perf_counter() - begin
    for c, row in enumerate(log.dev, 1):
        for key, value in row.items():
            name, mode = key.rsplit("/", 1)
            suffix = "" if len(starts) == 1 else f"_{name}"
            metrics[f"cycle{c}/dev_{mode}{suffix}"] = value
    metrics["negative_label_fraction"] = log.negative_fraction[0]
    begin = time.perf_counter()
    batch = int(m.score_batch_size)
    for mode in modes:
        chosen = best_models(tracks, mode, device, m)
        if mode == "bi":
            for model in chosen:
                model.max_seq_length = int(m.eval.bi_max_seq_length)
        metrics.update(_prefixed(mode, evaluate(chosen, mode, tests, batch)))
        if len(chosen) > 1:
            for t, model in zip(tracks, chosen, strict=True):
                metrics.update(_prefixed(f"{t.start.name}/{mode}", evaluate([model], mode, tests)))
        metrics[f"best_cycle_{mode}"] = float(tracks[0].best[mode][1])
        metrics[f"dev_{mode}"] = float(tracks[0].best[mode][0])
    metrics["eval_s"] = time.perf_counter() - begin
    if "bi" in modes:
        metrics["delta_bi_avg"] = metrics["bi/avg"] - metrics["start/avg"]
    if "cross" in modes:
        metrics["delta_cross_avg"] = metrics["cross/avg"] - metrics["start/avg"]
    learning_curve(out_dir / "history.csv", out_dir / "learning_curve.png")
    facts = {
        "starts": [s.__dict__ for s in starts],
        "pool_by_source": {s: pool.source.count(s) for s in dict.fromkeys(pool.source)},
        "cycle_seconds": log.seconds,
        "negative_label_fraction": log.negative_fraction,
    }
    (out_dir / "transencoder_run.json").write_text(json.dumps({**facts, "metrics": metrics}))
    return metrics


def run_eval(cfg: Any, out_dir: Path, device: torch.device) -> dict[str, float]:
    """Spearman x100 of one checkpoint on the seven test sets, in the mode the user names; a
    cross-encoder checkpoint is refused in bi mode and the reverse."""
    device = setup_torch(int(cfg.seed), cfg.hardware)
    ensure_offline()
    out_dir.mkdir(parents=True, exist_ok=True)
    m = cfg.method
    mode, name = m.get("mode"), str(m.checkpoint)
    if mode not in ("bi", "cross"):
        raise UserError(
            f"method.mode={mode}: say how to score {name}: method.mode=bi (cosine of the two"
            " embeddings) or method.mode=cross (the cross-encoder's pair score)"
        )
    kind = checkpoint_kind(name)
    if kind != mode:
        raise UserError(
            f"{name} is a {kind}-encoder checkpoint: evaluate it with method.mode={kind}"
        )
    from sentence_transformers import CrossEncoder, SentenceTransformer

    path = resolve(name)
    if mode == "bi":
        model = SentenceTransformer(path, device=str(device), local_files_only=True)
        if m.get("max_seq_length"):
            model.max_seq_length = int(m.max_seq_length)
    else:
        model = CrossEncoder(path, device=str(device), local_files_only=True)
    _, _, tests = load_benchmark(cfg)
    begin = time.perf_counter()
    metrics = _prefixed(mode, evaluate([model], mode, tests, int(m.score_batch_size)))
    metrics["eval_s"] = time.perf_counter() - begin
    with History(out_dir / "history.csv") as history:
        history.write(step=0, **{k.replace("/", "_"): v for k, v in metrics.items()})
    return metrics
