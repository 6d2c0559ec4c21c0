"""Source-Only: the same E/F trained on labelled source domains only (no adversary, λ = 0)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from iclr.methods.grda.training import train_and_evaluate


def run(cfg: Any, out_dir: Path, device: torch.device) -> dict[str, float]:
    """Method ``source_only``."""
    return train_and_evaluate(cfg, out_dir, device, None)
