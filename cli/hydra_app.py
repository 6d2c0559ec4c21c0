"""The Hydra application behind ``iclr run`` and ``iclr table``: every Hydra feature (``-m``,
``range()``, ``--cfg job``, launchers) works because the real ``@hydra.main`` app handles the
command line, and a table's missing jobs go through the same app and launcher as a sweep."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from iclr.cli.job import execute_job
from iclr.cli.locations import conf_dir

CONFIG_NAME = "config"


def task(cfg: DictConfig) -> Any:
    """Hydra task function: one job in its Hydra run folder (picklable for every launcher)."""
    from hydra.core.hydra_config import HydraConfig

    hydra_cfg = HydraConfig.get()
    return execute_job(
        cfg,
        Path(hydra_cfg.runtime.output_dir),
        overrides=list(hydra_cfg.overrides.task),
        force=bool(cfg.runner.force),
        rerun_stale=bool(cfg.runner.rerun_stale),
    )


def launch(argv: list[str]) -> None:
    """Run the Hydra app as if ``argv`` were its command line."""
    import hydra
    from hydra.core.global_hydra import GlobalHydra
    from hydra_plugins.iclr_sweeper import register

    register()
    app = hydra.main(version_base="1.3", config_path=str(conf_dir()), config_name=CONFIG_NAME)(task)
    saved = sys.argv
    GlobalHydra.instance().clear()
    sys.argv = ["iclr", *argv]
    try:
        app()
    finally:
        sys.argv = saved
        GlobalHydra.instance().clear()


def launch_jobs(jobs: list[list[str]], common: list[str], sweep_dir: Path) -> None:
    """Run an explicit list of jobs (one override list each) through Hydra's configured launcher;
    ``common`` overrides (e.g. ``hardware=slurm``, ``hydra/launcher=joblib``) apply to all."""
    sweep_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", suffix=".json", dir=sweep_dir, delete=False) as handle:
        json.dump(jobs, handle)
    launch(
        [
            "--multirun",
            "hydra/sweeper=iclr_list",
            f"hydra.sweeper.jobs_file='{handle.name}'",
            f"hydra.sweep.dir='{sweep_dir}'",
            # progress lines on stderr: stdout carries the table (e.g. --format csv)
            "hydra.hydra_logging.handlers.console.stream=ext://sys.stderr",
            "hydra.job_logging.handlers.console.stream=ext://sys.stderr",
            *common,
        ]
    )
