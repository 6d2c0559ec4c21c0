"""OmegaConf resolvers the config tree uses; registered once per process that composes or
resolves a job config (the CLI, validation, and every launcher's worker)."""

from __future__ import annotations

from omegaconf import OmegaConf


def register() -> None:
    """``${iclr_min:a,b}``: the smaller of two numbers (e.g. a profile that caps epochs)."""
    if not OmegaConf.has_resolver("iclr_min"):
        OmegaConf.register_new_resolver("iclr_min", lambda a, b: min(a, b))


register()
