"""Self- and mutual distillation cycles (official ``self_distill.py`` /
``mutual_distill_parallel.py`` with ``--init_with_new_models``).

Each cycle, for the tracks (one start model: self-distillation; two: mutual):
1. every track's current bi-encoder scores the pool (cosine); the pseudo-labels are the mean
   over tracks, mapped to valid BCE targets (``label_transform``);
2. each track's cross-encoder is re-initialised from its plain PLM and trained 1 epoch on the
   pool in both orders;
3. every cross-encoder scores the pool (one order); the labels are the mean over tracks;
4. each track's bi-encoder is re-initialised from its start and trained on them (MSE on cos).
Both stages keep their best STS-B dev checkpoint; after all cycles the cycle with the best dev
Spearman is kept **separately** for bi and cross, per track.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from iclr.cli.errors import UserError
from iclr.methods.common.history import History
from iclr.methods.transencoder.data import EvalSet, PairPool
from iclr.methods.transencoder.models import Start, make_bi, make_cross, snapshot
from iclr.methods.transencoder.scoring import bi_scores, cross_scores
from iclr.methods.transencoder.training import StageConfig, train_bi, train_cross


def to_bce_targets(cosine: np.ndarray, transform: str) -> np.ndarray:
    """Cosine pseudo-labels -> cross-encoder targets.

    ``clip`` (default) clips to [0, 1]: BCE's optimum for a target t is sigmoid(z) = t, which
    does not exist for t < 0 (about 1% of MiniLM cosines), and clipping keeps the order of every
    non-negative label. ``raw`` passes the cosines unchanged, as the official code does (SimCSE
    cosines are rarely negative). ``affine`` maps [-1, 1] to [0, 1] with (c + 1) / 2.
    """
    if transform == "clip":
        return np.clip(cosine, 0.0, 1.0)
    if transform == "raw":
        return cosine.copy()
    return (cosine + 1.0) / 2.0  # affine


@dataclass
class Track:
    """One start model's bi- and cross-encoder through the cycles, and their best cycles."""

    start: Start
    bi: Any
    cross: Any = None
    best: dict[str, tuple[float, int, dict]] = field(default_factory=dict)  # mode -> dev, cycle

    def keep_if_best(self, mode: str, dev: float, cycle: int, model: torch.nn.Module) -> None:
        """Remember ``model``'s weights when its dev score beats this mode's best so far."""
        if mode not in self.best or dev > self.best[mode][0]:
            self.best[mode] = (dev, cycle, snapshot(model))


@dataclass
class CycleLog:
    """What each cycle trained on and reached: the labels passed between the two modes."""

    cross_targets: list[np.ndarray] = field(default_factory=list)  # bi cosines -> cross
    bi_targets: list[np.ndarray] = field(default_factory=list)  # cross scores -> bi
    negative_fraction: list[float] = field(default_factory=list)  # cosines < 0, before mapping
    dev: list[dict[str, float]] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)


def run_cycles(
    starts: list[Start],
    pool: PairPool,
    dev: EvalSet,
    m: Any,
    device: torch.device,
    seed: int,
    history: History | None = None,
) -> tuple[list[Track], CycleLog]:
    """Run ``m.cycles`` distillation cycles; return the tracks (best weights per mode) and log."""
    if not bool(m.get("reinit", True)):
        raise UserError(
            "method.reinit=false (continue from the other mode's weights) is not implemented;"
            " the official scripts pass --init_with_new_models (reinit=true)"
        )
    bi_cfg, cross_cfg = StageConfig.from_cfg(m.bi), StageConfig.from_cfg(m.cross)
    bi_len, cross_len = int(m.bi.max_seq_length), m.cross.get("max_length")
    batch = int(m.score_batch_size)
    tracks = [Track(s, make_bi(s, bi_len, device)) for s in starts]
    log = CycleLog()
    s1, s2 = list(pool.s1), list(pool.s2)
    for cycle in range(1, int(m.cycles) + 1):
        begin = time.perf_counter()
        cosine = np.mean([bi_scores(t.bi, s1, s2, batch) for t in tracks], axis=0)
        log.negative_fraction.append(float((cosine < 0).mean()))
        targets = to_bce_targets(cosine, str(m.label_transform))
        log.cross_targets.append(targets)
        row: dict[str, float] = {}
        for k, t in enumerate(tracks):
            stage_seed = seed * 1000 + cycle * 10 + k
            torch.manual_seed(stage_seed)  # the fresh head's initialisation
            t.cross = make_cross(t.start, cross_len, device)
            tag = {"cycle": cycle, "model": t.start.name, "mode": "cross"}
            score, _ = train_cross(
                t.cross, s1, s2, targets, dev, cross_cfg, history, tag, stage_seed
            )
            t.keep_if_best("cross", score, cycle, t.cross)
            row[f"{t.start.name}/cross"] = score
        silver = np.mean([cross_scores(t.cross, s1, s2, batch) for t in tracks], axis=0)
        log.bi_targets.append(silver)
        for k, t in enumerate(tracks):
            stage_seed = seed * 1000 + cycle * 10 + 5 + k
            torch.manual_seed(stage_seed)
            t.bi = make_bi(t.start, bi_len, device)
            tag = {"cycle": cycle, "model": t.start.name, "mode": "bi"}
            score, _ = train_bi(t.bi, s1, s2, silver, dev, bi_cfg, history, tag, stage_seed)
            t.keep_if_best("bi", score, cycle, t.bi)
            row[f"{t.start.name}/bi"] = score
        log.dev.append(row)
        log.seconds.append(time.perf_counter() - begin)
    return tracks, log


def best_models(tracks: list[Track], mode: str, device: torch.device, m: Any) -> list[Any]:
    """Each track's best-cycle model of ``mode`` (weights restored into a fresh model)."""
    out = []
    for t in tracks:
        if mode == "bi":
            model = make_bi(t.start, int(m.bi.max_seq_length), device)
        else:
            model = make_cross(t.start, m.eval.get("cross_max_length"), device)
        model.load_state_dict(t.best[mode][2])
        model.eval()
        out.append(model)
    return out
