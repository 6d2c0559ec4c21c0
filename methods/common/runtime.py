"""Torch set-up for one job: seeds, threads, determinism and device, from the hardware config."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA) from one integer."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def resolve_device(name: str) -> torch.device:
    """``cpu``, ``cuda[:i]`` or ``auto`` (CUDA when available) as a torch device."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        from iclr.cli.errors import UserError

        raise UserError("hardware asks for CUDA but torch sees no GPU; use hardware=cpu or auto")
    return device


def setup_torch(seed: int, hardware: Any) -> torch.device:
    """Apply the hardware config (threads, determinism) and seed everything; return the device."""
    if hardware.get("threads"):
        torch.set_num_threads(int(hardware.threads))
    torch.use_deterministic_algorithms(bool(hardware.get("deterministic", False)), warn_only=True)
    seed_everything(seed)
    return resolve_device(str(hardware.get("device", "cpu")))
