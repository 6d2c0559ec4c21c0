"""Hydra sweeper that launches an explicit list of jobs (``iclr table``'s missing cells).

Hydra's basic sweeper expands grids; a paper table is a list of unrelated override lists (one per
missing cell and seed). This sweeper reads that list from a JSON file and hands it to whichever
launcher is configured (basic, joblib, submitit), so tables and ``iclr run -m`` share one path.
Hydra only instantiates plugins from the ``hydra_plugins`` namespace, hence this package's place.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from hydra.core.plugins import Plugins
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig


class ListSweeper(Sweeper):
    """Launch the override lists stored in ``jobs_file`` (a JSON list of lists of strings)."""

    def __init__(self, jobs_file: str) -> None:
        self.jobs_file = jobs_file
        self.launcher: Any = None

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )

    def sweep(self, arguments: list[str]) -> Any:
        jobs = json.loads(Path(self.jobs_file).read_text())
        # Command-line overrides (e.g. hardware=slurm) apply to every job, after its own.
        return self.launcher.launch([[*job, *arguments] for job in jobs], initial_job_idx=0)


def register() -> None:
    """Make the sweeper selectable as ``hydra/sweeper=iclr_list`` (works in editable installs,
    where Hydra's namespace scan may not see this package)."""
    Plugins.instance().register(ListSweeper)
    ConfigStore.instance().store(
        group="hydra/sweeper",
        name="iclr_list",
        node={"_target_": f"{__name__}.ListSweeper", "jobs_file": "???"},
        provider="iclr",
    )
