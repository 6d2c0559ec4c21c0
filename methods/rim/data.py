"""The D / V splits of a run: the dataset's event log (through the manifest: a real log, or
the synthetic generator) under the official protocol."""

from __future__ import annotations

from typing import Any

from iclr.data import load_dataset
from iclr.methods.rim.protocol import EvalSplit, make_splits


def load_splits(cfg: Any) -> tuple[EvalSplit, EvalSplit]:
    """(D, V) for ``cfg.dataset`` and ``cfg.seed`` (the seed draws the shuffle and user split)."""
    frame = load_dataset(cfg.dataset, cfg.paths.data_dir, cfg.paths.mirror)
    return make_splits(frame, cfg.dataset.protocol, int(cfg.seed))
