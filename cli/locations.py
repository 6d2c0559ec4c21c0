"""Where things live, taken from the environment so that users, tests and CI can redirect them."""

from __future__ import annotations

import os
from pathlib import Path


def conf_dir() -> Path:
    """The Hydra config tree (``conf/`` in a checkout, ``iclr/conf`` when installed)."""
    from iclr import conf

    return Path(next(iter(conf.__path__))).resolve()


def output_dir() -> Path:
    """Root of runs, sweeps, the results store and rendered tables (``ICLR_OUTPUT_DIR``)."""
    return Path(os.environ.get("ICLR_OUTPUT_DIR", "outputs")).resolve()


def results_dir() -> Path:
    """The results store: ``<output>/results/<method>/<dataset>/<cell_key>/seed=<s>.json``."""
    return output_dir() / "results"


def data_dir() -> Path:
    """Root where datasets are stored and loaded from (``ICLR_DATA_DIR``)."""
    return Path(os.environ.get("ICLR_DATA_DIR", "data")).resolve()


def mirror_dir() -> Path | None:
    """Read-only local mirror of the official data files (``ICLR_DATA_MIRROR``), if set."""
    value = os.environ.get("ICLR_DATA_MIRROR")
    return Path(value).resolve() if value else None


def offline() -> bool:
    """True when downloads are forbidden (``ICLR_OFFLINE=1``): tests and CI set it."""
    return os.environ.get("ICLR_OFFLINE", "").lower() in {"1", "true", "yes"}


def check_writable(folder: Path) -> None:
    """Raise a one-line ``UserError`` unless ``folder`` exists as a writable folder or can be
    created (checked before any job runs, so finished work is never lost to a bad path)."""
    import os

    from iclr.cli.errors import UserError

    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise UserError(
            f"output folder {folder} lies under {existing}, which is a file; set ICLR_OUTPUT_DIR"
            " or paths.output_dir to a folder"
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UserError(
            f"output folder {folder} is not writable ({existing} is read-only); set"
            " ICLR_OUTPUT_DIR or paths.output_dir to a writable folder"
        )
