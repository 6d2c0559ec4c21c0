"""Getting dataset files into the data root: from the mirror or the official source, checked.

The mirror is only ever read. Files are copied or downloaded to a temporary name and renamed, so
an interrupted fetch never leaves a file that looks complete. Checksums are cached in a stamp file
keyed on size and mtime, so that loading a verified dataset does not re-hash it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import urllib.request
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from iclr.cli import locations
from iclr.cli.errors import DataCorruptError, DataUnavailableError
from iclr.data.registry import DatasetSource, FileSpec

STAMP = ".iclr-verified.json"
GENERATED = "__generated__"  # stamp entry: the loader's cache files and their checksums


@dataclass(frozen=True)
class FileState:
    """One dataset file's state: ``ok``, ``missing``, ``corrupt`` or ``unchecked``."""

    path: str
    state: str
    detail: str = ""


def sha256(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _load_stamp(folder: Path) -> dict[str, list]:
    try:
        return json.loads((folder / STAMP).read_text())
    except (OSError, ValueError):
        return {}


def check_files(source: DatasetSource, folder: Path, use_stamp: bool = True) -> list[FileState]:
    """Check every manifest file of ``source`` inside ``folder`` (presence and sha256)."""
    stamp = _load_stamp(folder) if use_stamp else {}
    states = []
    for spec in source.files:
        path = folder / spec.path
        if not path.is_file():
            states.append(FileState(spec.path, "missing"))
            continue
        if spec.sha256 is None:
            states.append(FileState(spec.path, "unchecked", "no checksum in the manifest"))
            continue
        stat = path.stat()
        if stamp.get(spec.path) == [stat.st_size, stat.st_mtime_ns, spec.sha256]:
            states.append(FileState(spec.path, "ok"))
            continue
        actual = sha256(path)
        if actual == spec.sha256:
            states.append(FileState(spec.path, "ok"))
        else:
            states.append(
                FileState(spec.path, "corrupt", f"sha256 {actual[:12]}… ≠ {spec.sha256[:12]}…")
            )
    return states


def _write_stamp(source: DatasetSource, folder: Path, generated: dict | None = None) -> None:
    entries: dict = {
        GENERATED: generated if generated is not None else _load_stamp(folder).get(GENERATED, {})
    }
    for spec in source.files:
        path = folder / spec.path
        if spec.sha256 is not None and path.is_file():
            stat = path.stat()
            entries[spec.path] = [stat.st_size, stat.st_mtime_ns, spec.sha256]
    tmp = folder / f"{STAMP}.tmp{os.getpid()}"
    tmp.write_text(json.dumps(entries, indent=1))
    tmp.replace(folder / STAMP)


def _generated_files(source: DatasetSource, folder: Path) -> list[Path]:
    """Files a loader wrote into the dataset folder (caches such as PyG's ``processed/``)."""
    manifest = {spec.path for spec in source.files}
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file()
        and not p.name.startswith((STAMP, "."))
        and str(p.relative_to(folder)) not in manifest
    )


def record_generated(source: DatasetSource, folder: Path) -> None:
    """After a successful load, remember the checksums of the loader's cache files, so that
    ``verify`` and a failing load can tell a corrupt cache (only changed files are re-hashed)."""
    known = _load_stamp(folder).get(GENERATED, {})
    entries = {}
    for path in _generated_files(source, folder):
        rel, stat = str(path.relative_to(folder)), path.stat()
        old = known.get(rel)
        same = old is not None and old[:2] == [stat.st_size, stat.st_mtime_ns]
        entries[rel] = old if same else [stat.st_size, stat.st_mtime_ns, sha256(path)]
    if entries != known:
        _write_stamp(source, folder, entries)


def check_generated(source: DatasetSource, folder: Path) -> list[FileState]:
    """Every cache file recorded by ``record_generated``: ``ok``, ``missing`` or ``corrupt``."""
    states = []
    for rel, (_, _, digest) in sorted(_load_stamp(folder).get(GENERATED, {}).items()):
        path = folder / rel
        if not path.is_file():
            states.append(FileState(rel, "missing", "cache file (rebuilt on the next load)"))
        elif sha256(path) != digest:
            states.append(FileState(rel, "corrupt", "cache file written by the loader changed"))
        else:
            states.append(FileState(rel, "ok", "cache file"))
    return states


def repair(source: DatasetSource, data_dir: Path, mirror: Path | None) -> list[str]:
    """What ``iclr data fetch`` does: re-check every file by its checksum (no stamp), fetch the
    missing or corrupt ones, and delete corrupt cache files so the loader rebuilds them."""
    target = (data_dir / source.folder).resolve()
    repaired = []
    for state in check_generated(source, target):
        if state.state == "corrupt":
            (target / state.path).unlink()
            repaired.append(f"{state.path} (cache, deleted: rebuilt on the next load)")
    for state in check_files(source, target, use_stamp=False):
        if state.state in {"missing", "corrupt"}:
            if state.state == "corrupt":
                (target / state.path).unlink()
            repaired.append(state.path)
    ensure_local(source, data_dir, mirror)
    return repaired


def _usable(states: list[FileState]) -> bool:
    return all(s.state in {"ok", "unchecked"} for s in states)


def _copy_atomic(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.part{os.getpid()}")
    shutil.copyfile(src, tmp)
    tmp.replace(dst)


def _download_atomic(url: str, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.part{os.getpid()}")
    with urllib.request.urlopen(url, timeout=60) as response, tmp.open("wb") as out:
        shutil.copyfileobj(response, out)
    tmp.replace(dst)


def check_mirror(mirror: Path | None) -> None:
    """A mirror that is set must exist: say so instead of reporting every dataset missing."""
    if mirror is not None and not mirror.is_dir():
        raise DataUnavailableError(
            f"ICLR_DATA_MIRROR={mirror} does not exist or is not a folder; point it at a folder"
            " of official data files (laid out like the data root) or unset it"
        )


@cache
def reachable(url: str, timeout: float = 5.0) -> bool:
    """True when the host of ``url`` answers within ``timeout`` s (checked once per host)."""
    from urllib.parse import urlsplit

    return _host_answers(urlsplit(url).netloc, timeout)


@cache
def _host_answers(host: str, timeout: float) -> bool:
    import socket

    try:
        socket.create_connection((host, 443), timeout=timeout).close()
    except OSError:
        return False
    return True


def how_to_get(source: DatasetSource, target: Path) -> str:
    """One sentence: where the dataset was looked for and how to get it."""
    return (
        f"dataset '{source.name}' is not in the data root ({target}) and no mirror has it: "
        f"set ICLR_DATA_MIRROR to a folder containing {source.folder}/, or run "
        f"`iclr data fetch {source.name}` online (source: {source.base_url})"
    )


def _fetch_file(source: DatasetSource, spec: FileSpec, target: Path, mirror: Path | None) -> None:
    dst = target / spec.path
    if mirror is not None and (mirror / source.folder / spec.path).is_file():
        _copy_atomic(mirror / source.folder / spec.path, dst)
        return
    if (bundled := source.package_file(spec)) is not None:
        _copy_atomic(bundled, dst)
        return
    if locations.offline():
        raise DataUnavailableError(
            how_to_get(source, target) + " (downloads are off: ICLR_OFFLINE)"
        )
    try:
        _download_atomic(source.url(spec), dst)
    except OSError as exc:
        raise DataUnavailableError(
            f"not available offline (source unreachable: {exc}): {how_to_get(source, target)}"
        ) from None


def ensure_local(source: DatasetSource, data_dir: Path, mirror: Path | None) -> Path:
    """Return the dataset folder in the data root, fetching missing or corrupt files first.

    Missing files are copied from the mirror when it has them, otherwise downloaded from the
    official source (unless offline). Raises a one-line error saying what to do otherwise.
    """
    check_mirror(mirror)
    target = (data_dir / source.folder).resolve()
    states = check_files(source, target)
    if _usable(states):
        return target
    for state in states:
        if state.state in {"missing", "corrupt"}:
            spec = next(f for f in source.files if f.path == state.path)
            _fetch_file(source, spec, target, mirror)
    states = check_files(source, target, use_stamp=False)
    bad = [s for s in states if s.state == "corrupt"]
    if bad:
        origin = f"the mirror ({mirror})" if mirror else "the download"
        raise DataCorruptError(
            f"dataset '{source.name}': {bad[0].path} from {origin} has the wrong checksum "
            f"({bad[0].detail}); replace it with the official file and rerun `iclr data fetch "
            f"{source.name}`"
        )
    _write_stamp(source, target)
    return target


def availability(source: DatasetSource, data_dir: Path, mirror: Path | None) -> str:
    """Where the dataset comes from now: ``local``, ``mirror``, ``package`` (an installed Python
    package bundles it), ``download`` or ``unavailable``."""
    check_mirror(mirror)
    if source.online and not source.files:
        return "unavailable" if locations.offline() else "download"
    if _usable(check_files(source, data_dir / source.folder)):
        return "local"
    if mirror is not None and all(
        (mirror / source.folder / f.path).is_file() for f in source.files
    ):
        return "mirror"
    if all(source.package_file(f) is not None for f in source.files):
        return "package"
    if locations.offline() or not all(reachable(source.url(f)) for f in source.files):
        return "unavailable"  # no network behaves like offline: reported, not failed runs
    return "download"
