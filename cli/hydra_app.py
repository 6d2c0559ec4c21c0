"""The Hydra application behind ``iclr run``: every Hydra feature (``-m``, ``range()``,
``--cfg job``, launchers) works because the real ``@hydra.main`` app handles the command line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from iclr.cli.job import execute_job
from iclr.cli.locations import conf_dir

CONFIG_NAME = "config"


def task(cfg: DictConfig) -> dict[str, Any]:
    """Hydra task function: one job in its Hydra run folder (picklable for every launcher)."""
    from hydra.core.hydra_config import HydraConfig

    hydra_cfg = HydraConfig.get()
    return execute_job(
        cfg,
        Path(hydra_cfg.runtime.output_dir),
        overrides=list(hydra_cfg.overrides.task),
        force=bool(cfg.runner.force),
    )


def launch(argv: list[str]) -> None:
    """Run the Hydra app as if ``argv`` were its command line."""
    import hydra
    from hydra.core.global_hydra import GlobalHydra

    app = hydra.main(version_base="1.3", config_path=str(conf_dir()), config_name=CONFIG_NAME)(task)
    saved = sys.argv
    GlobalHydra.instance().clear()
    sys.argv = ["iclr", *argv]
    try:
        app()
    finally:
        sys.argv = saved
        GlobalHydra.instance().clear()
