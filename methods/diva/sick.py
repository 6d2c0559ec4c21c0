"""SICK sentence pairs (Marelli et al., 2014): the SemEval-2014 train, trial and test files."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pandas as pd

FILES = {"train": "SICK_train.txt", "trial": "SICK_trial.txt", "test": "SICK.txt"}
ENTAILMENT_LABELS = ("ENTAILMENT", "NEUTRAL", "CONTRADICTION")


def load(dataset_cfg: Any, folder: Path) -> dict[str, pd.DataFrame]:
    """One DataFrame per split (``train``, ``trial``, ``test``) with columns pair_ID,
    sentence_A, sentence_B, relatedness_score (1–5) and entailment_judgment (3 classes)."""
    splits = {}
    for split, name in FILES.items():
        # QUOTE_NONE: sentences contain quote characters; SICK.txt has CRLF line ends.
        frame = pd.read_csv(folder / name, sep="\t", quoting=csv.QUOTE_NONE, dtype=str)
        frame = frame.apply(lambda column: column.str.strip())
        frame.columns = [c.strip() for c in frame.columns]
        frame["relatedness_score"] = frame["relatedness_score"].astype(float)
        splits[split] = frame
    return splits
