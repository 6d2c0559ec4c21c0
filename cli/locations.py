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
