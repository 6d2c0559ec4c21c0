"""Run records and the results store.

``<output>/results/<method>/<dataset>/<cell_key>/seed=<s>.json`` holds one record per run. The
cell key hashes the resolved config without the seed and the settings that never change a result
(hardware, paths, runner switches, the profile's name and label, descriptive metadata), so seeds of
one configuration share a folder. Records are written to a temporary file and renamed: a killed
run never leaves a half-written record.

A record also stores ``code``, a hash of the source its method ran (the method's package and the
shared code under it): a record whose hash differs from the current code is *stale*.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

SCHEMA = 2
# The profile node only names and labels a profile: its effect is the overrides it applied.
NOT_IN_CELL_KEY = ("seed", "hardware", "paths", "runner", "profile")
# Descriptions, not settings: a method's metadata and a split's implementation pointer.
METADATA = {
    "method": (
        "entrypoint",
        "paper",
        "summary",
        "tasks",
        "smoke_dataset",
        "summary_metrics",
        "metric",
        "options",
    ),
    "dataset": ("options",),
    "split": ("builder", "options"),
}
# Shared code every method runs besides its own package (relative to the ``iclr`` package): the
# helpers and the generic loaders. The manifest, fetching and checksum code (data/registry.py,
# store.py, __init__.py) only delivers verified files, so it cannot change a result.
SHARED_CODE = ("methods/common", "data")
NOT_RESULT_CODE = ("data/__init__.py", "data/registry.py", "data/store.py")


def cell_key(config: dict[str, Any]) -> str:
    """Short stable hash of the resolved config minus seed, hardware, paths, runner, the profile
    node and descriptive metadata: two runs share a key exactly when their settings agree."""
    kept = {k: v for k, v in config.items() if k not in NOT_IN_CELL_KEY}
    for node, keys in METADATA.items():
        if isinstance(kept.get(node), dict):
            kept[node] = _without(kept[node], keys)
    blob = json.dumps(kept, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha1(blob.encode()).hexdigest()[:10]


def _without(node: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    # nested method configs (e.g. GIANT-XRT's downstream classifier) carry metadata too
    return {
        k: _without(v, keys) if isinstance(v, dict) else v for k, v in node.items() if k not in keys
    }


def _package_root() -> Path:
    return Path(__file__).resolve().parent.parent


@cache
def code_version(entrypoint: str) -> str:
    """Hash of the Python source a method runs: its package under ``methods/`` (the module's
    top folder) plus the shared helpers and generic data loaders. Reads files, imports nothing."""
    module = entrypoint.partition(":")[0].split(".")
    # iclr.methods.<paper>.<module>: the paper's folder; a baseline module alone otherwise
    root = _package_root()
    own = root.joinpath(*module[1:3])
    folders = [own if own.is_dir() else own.with_suffix(".py"), *(root / s for s in SHARED_CODE)]
    digest = hashlib.sha1()
    for folder in folders:
        files = sorted(folder.rglob("*.py")) if folder.is_dir() else [folder]
        for path in (p for p in files if str(p.relative_to(root)) not in NOT_RESULT_CODE):
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


@dataclass
class Record:
    """One run: what ran (method, dataset, seed, settings, code), how it ended and its metrics."""

    method: str
    dataset: str
    seed: int
    cell_key: str
    status: str  # running | ok | failed
    main_metric: str
    overrides: list[str] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)
    selection: str = "final epoch"
    summary_metrics: list[str] = field(default_factory=list)
    profile: str = "paper"
    code: str = ""
    error: str | None = None
    traceback: str | None = None
    runtime_s: float | None = None
    started_at: str = ""
    finished_at: str = ""
    run_dir: str = ""
    host: str = ""
    versions: dict[str, str] = field(default_factory=dict)
    git_sha: str | None = None
    git_dirty: bool | None = None
    config: dict[str, Any] = field(default_factory=dict)
    schema: int = SCHEMA

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def value(self) -> float | None:
        """The main metric, when the run produced it."""
        return self.metrics.get(self.main_metric)

    def stale(self, current_code: str) -> bool:
        """True when the record was made by other code than ``current_code`` (or by a version of
        the tool that recorded none)."""
        return self.code != current_code

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, default=str) + "\n"

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Record:
        """Build a record from stored JSON; ``RecordError`` when a field is missing or mistyped."""
        known = {f.name for f in dataclasses.fields(cls)}
        try:
            record = cls(**{k: v for k, v in raw.items() if k in known})
        except TypeError as exc:
            raise RecordError(str(exc)) from None
        if not isinstance(record.metrics, dict) or not isinstance(record.status, str):
            raise RecordError("metrics must be a mapping and status a string")
        if not all(isinstance(v, (int, float)) for v in record.metrics.values()):
            raise RecordError("every metric must be a number")
        return record


class RecordError(ValueError):
    """A stored record that cannot be read as a ``Record``."""


@dataclass
class Outcome:
    """What one job did (``done``, ``cached`` or ``failed``) and the record it produced: the view
    a sweep summary and a table read, written as ``job.json`` in the job's run folder."""

    state: str
    record: Record
    record_path: str
    run_dir: str
    stale: bool = False

    def to_json(self) -> str:
        return (
            json.dumps(
                {
                    "state": self.state,
                    "record_path": self.record_path,
                    "run_dir": self.run_dir,
                    "stale": self.stale,
                    "record": dataclasses.asdict(self.record),
                },
                indent=2,
                default=str,
            )
            + "\n"
        )

    @classmethod
    def from_json(cls, text: str) -> Outcome:
        raw = json.loads(text)
        return cls(
            raw["state"],
            Record.from_dict(raw["record"]),
            raw["record_path"],
            raw["run_dir"],
            bool(raw.get("stale")),
        )


@contextmanager
def record_lock(path: Path) -> Iterator[None]:
    """Hold the lock beside a record while its job runs: a second process asking for the same
    (cell, seed) waits, then finds the record. Fails with one line when the store is not
    writable, before any training."""
    import fcntl

    from iclr.cli.errors import UserError

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = path.with_name(f".{path.name}.lock").open("w")
    except OSError as exc:
        raise UserError(
            f"the results folder {path.parent} is not writable ({exc.strerror}); set"
            " ICLR_OUTPUT_DIR or paths.output_dir to a writable folder"
        ) from None
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


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


def write_record(path: Path, record: Record) -> None:
    """Store one record atomically."""
    write_atomic(path, record.to_json())


def load_record(path: Path) -> Record:
    """The record at ``path``; ``RecordError`` naming why it cannot be read."""
    try:
        raw = json.loads(path.read_text())
    except OSError as exc:
        raise RecordError(f"cannot read it ({exc.strerror})") from None
    except ValueError as exc:
        raise RecordError(f"not valid JSON ({exc})") from None
    if not isinstance(raw, dict):
        raise RecordError("not a JSON object")
    return Record.from_dict(raw)


def read_record(path: Path) -> Record | None:
    """The record at ``path``, or None when there is none or it is unreadable."""
    if not path.is_file():
        return None
    try:
        return load_record(path)
    except RecordError:
        return None


def is_done(path: Path) -> bool:
    """True when a successful record exists at ``path``."""
    record = read_record(path)
    return record is not None and record.ok


def iter_records(root: Path, warn: Any = None) -> Iterator[tuple[Path, Record]]:
    """Every readable record below ``root`` (the store or any sub-folder of it) with its path;
    ``warn(message)`` is called once for each unreadable one."""
    paths = [root] if root.is_file() else sorted(root.rglob("seed=*.json"))
    for path in paths:
        try:
            yield path, load_record(path)
        except RecordError as exc:
            if warn is not None:
                warn(f"skipped unreadable record {path}: {exc}")
