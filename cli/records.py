"""Run records and the results store.

``<output>/results/<method>/<dataset>/<cell_key>/seed=<s>.json`` holds one record per run. The
cell key hashes the resolved config without the seed and the settings that never change a result
(hardware, paths, runner switches), so seeds of one configuration share a folder. Records are
written to a temporary file and renamed: a killed run never leaves a half-written record.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

SCHEMA = 1
NOT_IN_CELL_KEY = ("seed", "hardware", "paths", "runner")


def cell_key(config: dict[str, Any]) -> str:
    """Short stable hash of the resolved config minus seed, hardware, paths and runner."""
    kept = {k: v for k, v in config.items() if k not in NOT_IN_CELL_KEY}
    blob = json.dumps(kept, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha1(blob.encode()).hexdigest()[:10]


def record_path(results_dir: Path, method: str, dataset: str, key: str, seed: int) -> Path:
    """Where the record of one (cell, seed) lives."""
    return results_dir / method / dataset / key / f"seed={seed}.json"


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file and an atomic rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with tmp.open("w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(path)


def write_record(path: Path, record: dict[str, Any]) -> None:
    """Store one record atomically."""
    write_atomic(path, json.dumps(record, indent=2, sort_keys=False, default=str) + "\n")


def read_record(path: Path) -> dict[str, Any] | None:
    """A record, or None when the file is unreadable (e.g. from an incompatible writer)."""
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and "status" in record else None


def is_done(path: Path) -> bool:
    """True when a successful record exists at ``path``."""
    record = read_record(path) if path.is_file() else None
    return record is not None and record.get("status") == "ok"


def iter_records(root: Path) -> Iterator[dict[str, Any]]:
    """Every readable record below ``root`` (the store or any sub-folder of it)."""
    if root.is_file():
        paths: Any = [root]
    else:
        paths = sorted(root.rglob("seed=*.json"))
    for path in paths:
        record = read_record(path)
        if record is not None:
            record["_path"] = str(path)
            yield record
