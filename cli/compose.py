"""The one way this tool composes job configs outside a Hydra app (validation, table planning,
tests): Hydra's Compose API over the packaged config tree."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from omegaconf import DictConfig

from iclr.cli import resolvers  # noqa: F401  (registers ${iclr_min:...})
from iclr.cli.locations import conf_dir


@contextmanager
def composer() -> Iterator[Callable[[list[str]], DictConfig]]:
    """Yield ``compose(overrides) -> DictConfig``; initialises Hydra once for many compositions."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra_plugins.iclr_sweeper import register

    register()
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
            yield lambda overrides: compose(config_name="config", overrides=list(overrides))
    finally:
        GlobalHydra.instance().clear()


def compose_config(overrides: list[str]) -> DictConfig:
    """One job's composed config."""
    with composer() as compose:
        return compose(overrides)
