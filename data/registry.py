"""The dataset manifest (``sources.yaml``): names, loaders, files and checksums."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

MANIFEST = Path(__file__).with_name("sources.yaml")


@dataclass(frozen=True)
class FileSpec:
    """One file of a dataset, relative to the dataset folder."""

    path: str
    sha256: str | None
    bytes: int | None
    url: str | None = None  # where the file is, when not at ``base_url`` + its name


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

    def url(self, file: FileSpec) -> str:
        """Official download address of one file."""
        return file.url or f"{self.base_url}/{Path(file.path).name}"


@cache
def sources() -> dict[str, DatasetSource]:
    """All datasets of the manifest, by name."""
    raw = yaml.safe_load(MANIFEST.read_text())
    return {
        name: DatasetSource(
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
        )
        for name, entry in raw.items()
    }


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
