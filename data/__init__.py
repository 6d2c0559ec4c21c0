"""Datasets: the source manifest, fetching (mirror or official source), checksums and loaders."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from iclr.cli.errors import DataCorruptError
from iclr.data.registry import get_source, load_function
from iclr.data.store import check_generated, ensure_local, record_generated


@contextmanager
def dataset_lock(data_dir: Path, name: str) -> Iterator[None]:
    """An exclusive lock per dataset in the data root: parallel jobs (``--jobs``, joblib, Slurm
    on a shared disk) must not fetch the files or write a loader's cache at the same time."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with (data_dir / f".{name}.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def load_dataset(dataset_cfg: Any, data_dir: str | Path, mirror: str | Path | None) -> Any:
    """Make sure dataset files are in the data root (fetching them if needed), then load them."""
    source = get_source(dataset_cfg.name)
    root = Path(data_dir)
    with dataset_lock(root, source.name):
        folder = ensure_local(source, root, Path(mirror) if mirror else None)
        try:
            data = load_function(source)(dataset_cfg, folder)
        except Exception as exc:
            bad = [s.path for s in check_generated(source, folder) if s.state == "corrupt"]
            if not bad:
                raise
            raise DataCorruptError(
                f"dataset '{source.name}': loading failed ({type(exc).__name__}) because the"
                f" cache file {folder / bad[0]} is corrupt; run `iclr data fetch {source.name}`"
                " to repair it"
            ) from None
        record_generated(source, folder)
        return data
