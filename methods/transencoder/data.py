"""STS12–16 (SentEval files), STS-B and SICK-R: the unlabelled pair pool and the evaluation sets.

The pool is what Trans-Encoder trains on: every sentence pair of the tasks, *without* its gold
score (``PairPool`` has no score field at all). Gold scores live only in ``EvalSet`` objects,
which are used for the dev selection (STS-B dev) and the final test evaluation.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Subsets of each STS year in the SentEval layout (STS13 SMT has no input file: withdrawn text).
STS_SUBSETS = {
    "sts12": ("MSRpar", "MSRvid", "SMTeuroparl", "surprise.OnWN", "surprise.SMTnews"),
    "sts13": ("FNWN", "headlines", "OnWN"),
    "sts14": ("deft-forum", "deft-news", "headlines", "images", "OnWN", "tweet-news"),
    "sts15": ("answers-forums", "answers-students", "belief", "headlines", "images"),
    "sts16": ("answer-answer", "headlines", "plagiarism", "postediting", "question-question"),
}
STSB_SPLITS = ("train", "dev", "test")
# The seven test sets of the paper's headline average, in table order.
TEST_SETS = ("sts12", "sts13", "sts14", "sts15", "sts16", "stsb", "sickr")


@dataclass(frozen=True)
class ScoredPairs:
    """Sentence pairs with gold similarity scores (one subset or split of one source)."""

    s1: tuple[str, ...]
    s2: tuple[str, ...]
    score: tuple[float, ...]

    def __len__(self) -> int:
        return len(self.s1)


@dataclass(frozen=True)
class PairPool:
    """The transductive, label-free training pool: pairs and the source set of each, no scores."""

    s1: tuple[str, ...]
    s2: tuple[str, ...]
    source: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.s1)

    def pairs(self) -> list[tuple[str, str]]:
        """The pairs in their stored order, (s1, s2)."""
        return list(zip(self.s1, self.s2, strict=True))


@dataclass(frozen=True)
class EvalSet:
    """One evaluation set: pairs and gold scores (raw scale; Spearman ignores the scale)."""

    name: str
    s1: tuple[str, ...]
    s2: tuple[str, ...]
    gold: tuple[float, ...]

    def __len__(self) -> int:
        return len(self.s1)


def _read_lines(path: Path) -> list[str]:
    # utf-8 as SentEval reads them; only the final newline is dropped (gold files end with
    # empty lines that still belong to pairs), and callers strip CR of CRLF files
    text = path.read_text(encoding="utf-8")
    return (text[:-1] if text.endswith("\n") else text).split("\n")


def read_sts_subset(folder: Path, subset: str) -> ScoredPairs:
    """One SentEval STS subset; pairs with an empty gold line are dropped (as SentEval does)."""
    inputs = _read_lines(folder / f"STS.input.{subset}.txt")
    gold = _read_lines(folder / f"STS.gs.{subset}.txt")
    if len(inputs) != len(gold):
        raise ValueError(f"{folder.name}/{subset}: {len(inputs)} input vs {len(gold)} gold lines")
    s1, s2, score = [], [], []
    for line, g in zip(inputs, gold, strict=True):
        g = g.strip()
        if not g:
            continue
        a, b = line.rstrip("\r").split("\t")[:2]
        s1.append(a.strip())
        s2.append(b.strip())
        score.append(float(g))
    return ScoredPairs(tuple(s1), tuple(s2), tuple(score))


def read_stsb_split(path: Path) -> ScoredPairs:
    """One STS-B csv: tab-separated, first 7 fields (genre, file, year, id, score, s1, s2);
    some rows carry 2 extra source columns, and no csv quoting is used."""
    s1, s2, score = [], [], []
    for line in _read_lines(path):
        fields = line.rstrip("\r").split("\t")
        score.append(float(fields[4]))
        s1.append(fields[5].strip())
        s2.append(fields[6].strip())
    return ScoredPairs(tuple(s1), tuple(s2), tuple(score))


def load(dataset_cfg: Any, folder: Path) -> dict[str, Any]:
    """Loader of the ``sts_sickr`` dataset (the ``sts-senteval`` folder): per STS year a dict of
    subsets, and the three STS-B splits in the text form ``dataset_cfg.stsb_text``
    (``original`` = raw text as upstream reads it, ``tokenized`` = SentEval tokenised)."""
    text = str(dataset_cfg.get("stsb_text", "original"))
    stsb_dir = {"original": "original", "tokenized": "senteval-tokenized"}[text]
    out: dict[str, Any] = {
        year: {s: read_sts_subset(folder / f"{year.upper()}-en-test", s) for s in subsets}
        for year, subsets in STS_SUBSETS.items()
    }
    out["stsb"] = {
        split: read_stsb_split(folder / "STSBenchmark" / stsb_dir / f"sts-{split}.csv")
        for split in STSB_SPLITS
    }
    return out


SICK_FILES = {"train": "SICK_train.txt", "trial": "SICK_trial.txt", "test": "SICK.txt"}


def read_sick_split(path: Path) -> ScoredPairs:
    """One SICK file: tab-separated with a header (pair_ID, sentence_A, sentence_B,
    relatedness_score, entailment_judgment), no quoting; SICK.txt has CRLF line ends."""
    lines = [line.rstrip("\r") for line in _read_lines(path) if line.strip()]
    header = lines[0].split("\t")
    a, b, r = (header.index(c) for c in ("sentence_A", "sentence_B", "relatedness_score"))
    rows = [line.split("\t") for line in lines[1:]]
    return ScoredPairs(
        tuple(x[a].strip() for x in rows),
        tuple(x[b].strip() for x in rows),
        tuple(float(x[r]) for x in rows),
    )


def load_sick(dataset_cfg: Any, folder: Path) -> dict[str, ScoredPairs]:
    """Loader of the ``sickr`` dataset: SICK relatedness (1–5) per split (train/trial/test)."""
    return {split: read_sick_split(folder / name) for split, name in SICK_FILES.items()}


def pool_sources(sts: dict[str, Any], sick: dict[str, Any]) -> dict[str, list[ScoredPairs]]:
    """The pair sources of task ``sts_sickr``: STS12–16 test pairs, all STS-B splits, all SICK."""
    sources = {year: list(sts[year].values()) for year in STS_SUBSETS}
    sources["stsb"] = [sts["stsb"][s] for s in STSB_SPLITS]
    sources["sickr"] = [sick[s] for s in ("train", "trial", "test")]
    return sources


def build_pool(
    sources: dict[str, Sequence[ScoredPairs]],
    include: Sequence[str] = TEST_SETS,
    size: int | None = None,
    seed: int = 0,
) -> PairPool:
    """The label-free pool: pairs of the ``include`` sources, de-duplicated, scores dropped.

    A pair and its reverse count as one pair (cross-encoder training uses both orders anyway).
    With ``size``, a seeded subsample stratified by source (proportional, at least one pair per
    source), so that a small pool still covers every set.
    """
    seen: set[tuple[str, str]] = set()
    rows: dict[str, list[tuple[str, str]]] = {}
    for name in include:
        kept = rows.setdefault(name, [])
        for part in sources[name]:
            for a, b in zip(part.s1, part.s2, strict=True):
                key = (a, b) if a <= b else (b, a)
                if key not in seen:
                    seen.add(key)
                    kept.append((a, b))
    if size is not None:
        total = sum(len(v) for v in rows.values())
        if size < len(rows):
            raise ValueError(f"pool size {size} is below the number of sources {len(rows)}")
        rng = random.Random(seed)
        # largest remainder: proportional counts that add up to exactly `size`
        exact = {k: size * len(v) / total for k, v in rows.items()}
        counts = {k: max(1, int(x)) for k, x in exact.items()}
        for k in sorted(exact, key=lambda k: exact[k] - int(exact[k]), reverse=True):
            if sum(counts.values()) >= size:
                break
            counts[k] += 1
        rows = {k: rng.sample(v, min(counts[k], len(v))) for k, v in rows.items()}
    s1, s2, src = [], [], []
    for name, pairs in rows.items():
        for a, b in pairs:
            s1.append(a)
            s2.append(b)
            src.append(name)
    return PairPool(tuple(s1), tuple(s2), tuple(src))


def concat(name: str, parts: Sequence[ScoredPairs]) -> EvalSet:
    """One evaluation set from several subsets (the "all" setting: one correlation overall)."""
    return EvalSet(
        name,
        tuple(x for p in parts for x in p.s1),
        tuple(x for p in parts for x in p.s2),
        tuple(x for p in parts for x in p.score),
    )


def test_sets(sts: dict[str, Any], sick: dict[str, Any]) -> dict[str, EvalSet]:
    """The seven test sets: STS12–16 "all", STS-B test, SICK-R test."""
    out = {year: concat(year, list(sts[year].values())) for year in STS_SUBSETS}
    out["stsb"] = concat("stsb", [sts["stsb"]["test"]])
    out["sickr"] = concat("sickr", [sick["test"]])
    return out


def dev_set(sts: dict[str, Any], size: int | None = None, seed: int = 0) -> EvalSet:
    """STS-B dev (the official selection set), optionally a seeded subsample of ``size`` pairs."""
    dev = sts["stsb"]["dev"]
    idx = list(range(len(dev)))
    if size is not None and size < len(dev):
        idx = sorted(random.Random(seed).sample(idx, size))
    return EvalSet(
        "stsb_dev",
        tuple(dev.s1[i] for i in idx),
        tuple(dev.s2[i] for i in idx),
        tuple(dev.score[i] for i in idx),
    )


def subsample(eval_set: EvalSet, size: int | None, seed: int = 0) -> EvalSet:
    """A seeded subsample of an evaluation set (smoke runs only); ``None`` keeps it whole."""
    if size is None or size >= len(eval_set):
        return eval_set
    idx = sorted(random.Random(seed).sample(range(len(eval_set)), size))
    return EvalSet(
        eval_set.name,
        tuple(eval_set.s1[i] for i in idx),
        tuple(eval_set.s2[i] for i in idx),
        tuple(eval_set.gold[i] for i in idx),
    )
