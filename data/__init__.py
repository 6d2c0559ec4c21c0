"""Datasets: the source manifest, fetching (mirror or official source), checksums and loaders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from iclr.data.registry import get_source, load_function
from iclr.data.store import ensure_local


def load_dataset(dataset_cfg: Any, data_dir: str | Path, mirror: str | Path | None) -> Any:
    """Make sure dataset files are in the data root (fetching them if needed), then load them."""
    source = get_source(dataset_cfg.name)
    folder = ensure_local(source, Path(data_dir), Path(mirror) if mirror else None)
    return load_function(source)(dataset_cfg, folder)
