"""Batched scoring of sentence pairs and Spearman x100 (scipy), bi and cross modes kept apart.

Bi mode: each distinct sentence is embedded once (sentence-transformers sorts a batch by
length), and a pair's score is the cosine of its two embeddings. Cross mode: the pairs are
sorted by length (little padding) and scored by the cross-encoder (sigmoid of its logit).
Everything runs under ``torch.inference_mode``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from iclr.cli.errors import UserError
from iclr.methods.transencoder.data import EvalSet


def spearman100(gold: Sequence[float], pred: Sequence[float]) -> float:
    """Spearman's rho x 100 (scipy)."""
    from scipy.stats import spearmanr

    return float(spearmanr(gold, pred).statistic) * 100.0


def _is_cross(model: Any) -> bool:
    from sentence_transformers import CrossEncoder

    return isinstance(model, CrossEncoder)


def check_mode(model: Any, mode: str) -> None:
    """Refuse to score a cross-encoder as a bi-encoder or the reverse (upstream issue #8)."""
    if mode not in ("bi", "cross"):
        raise UserError(f"mode={mode!r}: use bi (cosine of embeddings) or cross (pair scores)")
    if _is_cross(model) != (mode == "cross"):
        kind = "cross" if _is_cross(model) else "bi"
        raise UserError(f"this is a {kind}-encoder: evaluate it with mode={kind}, not mode={mode}")


def bi_scores(
    model: Any, s1: Sequence[str], s2: Sequence[str], batch_size: int = 128
) -> np.ndarray:
    """Cosine similarity of each pair under a SentenceTransformer (float64 array)."""
    check_mode(model, "bi")
    distinct = list(dict.fromkeys([*s1, *s2]))
    index = {s: i for i, s in enumerate(distinct)}
    with torch.inference_mode():
        emb = model.encode(
            distinct,
            batch_size=batch_size,
            convert_to_tensor=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        ).float()
        a = emb[torch.tensor([index[s] for s in s1], dtype=torch.long, device=emb.device)]
        b = emb[torch.tensor([index[s] for s in s2], dtype=torch.long, device=emb.device)]
        return (a * b).sum(-1).double().cpu().numpy()


def cross_scores(
    model: Any, s1: Sequence[str], s2: Sequence[str], batch_size: int = 64
) -> np.ndarray:
    """The cross-encoder's score (sigmoid of the logit) of each pair, batched by length."""
    check_mode(model, "cross")
    if len(s1) == 0:
        return np.zeros(0)
    order = np.argsort([-(len(a) + len(b)) for a, b in zip(s1, s2, strict=True)], kind="stable")
    pairs = [(s1[i], s2[i]) for i in order]
    with torch.inference_mode():
        sorted_scores = model.predict(
            pairs, batch_size=batch_size, show_progress_bar=False, convert_to_numpy=True
        )
    out = np.empty(len(pairs))
    out[order] = np.asarray(sorted_scores, dtype=np.float64).reshape(-1)
    return out


def score_pairs(
    model: Any, mode: str, s1: Sequence[str], s2: Sequence[str], batch_size: int
) -> np.ndarray:
    """Scores of the pairs in ``mode`` (``bi`` or ``cross``), after checking the model's kind."""
    check_mode(model, mode)
    fn = bi_scores if mode == "bi" else cross_scores
    return fn(model, s1, s2, batch_size)


def set_scores(
    models: Sequence[Any], mode: str, sets: Mapping[str, EvalSet], batch_size: int
) -> dict[str, np.ndarray]:
    """Each set's pair scores: the mean over ``models`` (one model, or a mutual ensemble).

    All sets are scored in one pass (bi: every distinct sentence embedded once)."""
    s1 = [x for e in sets.values() for x in e.s1]
    s2 = [x for e in sets.values() for x in e.s2]
    total = np.mean([score_pairs(m, mode, s1, s2, batch_size) for m in models], axis=0)
    out, start = {}, 0
    for name, e in sets.items():
        out[name] = total[start : start + len(e)]
        start += len(e)
    return out


def evaluate(
    models: Sequence[Any], mode: str, sets: Mapping[str, EvalSet], batch_size: int = 128
) -> dict[str, float]:
    """Spearman x100 per set, plus ``avg`` over the sets (the paper's 7-set average)."""
    scores = set_scores(models, mode, sets, batch_size)
    out = {name: spearman100(sets[name].gold, s) for name, s in scores.items()}
    out["avg"] = float(np.mean(list(out.values())))
    return out
