"""The method registry, built from the method configs: ``conf/method/<name>.yaml`` carries the
method's entrypoint (``module:function``), its paper, a one-line summary, the dataset families it
accepts and the dataset its smoke profile runs on.

Reading YAML imports no torch, so ``iclr list`` and pre-flight validation stay fast; the
entrypoint is imported only when a job runs. An entrypoint has the signature
``run(cfg, out_dir, device) -> dict[str, float]``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from iclr.cli.errors import UserError


@dataclass(frozen=True)
class MethodEntry:
    """What ``iclr list methods`` shows and what a job needs to find the method's code."""

    name: str
    entrypoint: str
    paper: str
    summary: str
    tasks: tuple[str, ...]
    smoke_dataset: str
    summary_metrics: tuple[str, ...]
    config: Path


def _method_node(raw: dict[str, Any], text: str) -> dict[str, Any]:
    # A ``@package _global_`` method config nests its hyperparameters under ``method:``.
    header = [line for line in text.splitlines() if line.startswith("#")][:3]
    if any("@package _global_" in line for line in header):
        return raw.get("method") or {}
    return raw


def parse_method(path: Path) -> MethodEntry:
    """Read one method config's metadata; a one-line error naming the file and the fix."""
    text = path.read_text()
    try:
        node = _method_node(yaml.safe_load(text) or {}, text)
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: not valid YAML ({' '.join(str(exc).split())})") from None
    required = ("entrypoint", "paper", "summary", "tasks", "smoke_dataset")
    missing = [k for k in required if k not in node]
    if missing:
        raise UserError(f"{path}: add {', '.join(missing)} (see README, 'Adding a method')")
    entrypoint = str(node["entrypoint"])
    if ":" not in entrypoint:
        raise UserError(f"{path}: entrypoint '{entrypoint}' must read 'package.module:function'")
    if node.get("name", path.stem) != path.stem:
        raise UserError(f"{path}: name '{node.get('name')}' must equal the file name '{path.stem}'")
    return MethodEntry(
        name=path.stem,
        entrypoint=entrypoint,
        paper=str(node["paper"]),
        summary=str(node["summary"]),
        tasks=tuple(str(t) for t in node["tasks"]),
        smoke_dataset=str(node["smoke_dataset"]),
        summary_metrics=tuple(str(m) for m in node.get("summary_metrics") or ()),
        config=path,
    )


@cache
def methods() -> dict[str, MethodEntry]:
    """Every method of the config tree, by name."""
    from iclr.cli.locations import conf_dir

    return {p.stem: parse_method(p) for p in sorted((conf_dir() / "method").glob("*.yaml"))}


def get_method(name: str) -> MethodEntry:
    """The registry entry of ``name``; a clear error listing the choices otherwise."""
    try:
        return methods()[name]
    except KeyError:
        raise UserError(
            f"unknown method '{name}'; choose one of: {', '.join(sorted(methods()))}"
        ) from None


def load_entrypoint(name: str) -> Callable[..., dict[str, float]]:
    """Import and return the ``run`` function of method ``name``."""
    entry = get_method(name)
    module_name, _, function = entry.entrypoint.partition(":")
    try:
        module: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise UserError(
            f"{entry.config}: entrypoint {entry.entrypoint} does not import ({exc}); install the"
            f" paper's extra (README, Install) or fix the module name"
        ) from None
    if not callable(getattr(module, function, None)):
        raise UserError(f"{entry.config}: {module_name} has no function '{function}'")
    return getattr(module, function)
