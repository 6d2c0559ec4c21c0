"""Config schemas checked before any job runs: structured configs for the groups every job has
(hardware, profile); for every method and dataset, the ranges of the hyperparameters that recur
across papers, in one place; and the allowed values a config declares for its string options
(an ``options:`` block beside them).

A bad value exits 2 with one line naming the key, the value and what is allowed, before data is
loaded and before anything is written to the store.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from iclr.cli.errors import UserError


class Device(str, Enum):
    cpu = "cpu"
    cuda = "cuda"
    auto = "auto"


@dataclass
class HardwareSchema:
    """``conf/hardware/*.yaml``."""

    device: Device = Device.cpu
    threads: int = 1
    deterministic: bool = True


@dataclass
class ProfileSchema:
    """``conf/profile/*.yaml`` and the ``profile`` node a method profile relabels."""

    name: str = "paper"
    label: str = "paper settings"


# Keys that mean the same in every paper's config, wherever they sit under method / dataset:
# (test, what is allowed). Integers must be integers (not bools).
def _int_at_least(low: int):
    def ok(v: Any) -> bool:
        return isinstance(v, int) and not isinstance(v, bool) and v >= low

    return ok, f"an integer ≥ {low}"


def _number(test, allowed: str):
    def ok(v: Any) -> bool:
        return (
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and test(v)
        )

    return ok, allowed


RANGES = {
    **{k: _int_at_least(1) for k in ("epochs", "hidden", "layers", "batch_size", "iterations")},
    **{k: _int_at_least(1) for k in ("steps", "heads", "factors", "channels", "patience")},
    "dropout": _number(lambda v: 0 <= v < 1, "a number in [0, 1)"),
    "lr": _number(lambda v: v > 0, "a number > 0"),
    "weight_decay": _number(lambda v: v >= 0, "a number ≥ 0"),
}


def _walk(node: Any, prefix: str):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, f"{prefix}.{key}")
    else:
        yield prefix, node


def _check_options(node: dict, prefix: str) -> None:
    """A config node may declare ``options: {key: [allowed, ...]}`` for its string options (the
    schema of its enums); every declared key's value must be one of them (each element, for a
    list value). A declared key the node leaves out (an opt-in ``+key=...``) is not checked."""
    for key, allowed in (node.get("options") or {}).items():
        if key not in node:
            continue
        value = node[key]
        if isinstance(value, list):
            value = [v for v in value if v not in allowed] or None
        elif value in allowed:
            value = None
        if value is not None:
            raise UserError(
                f"{prefix}.{key}={value!r}: choose one of {', '.join(map(str, allowed))}"
            )
    for key, value in node.items():
        if isinstance(value, dict) and key != "options":
            _check_options(value, f"{prefix}.{key}")


def check(cfg: DictConfig) -> None:
    """Check one composed job config against the schemas; raise a one-line ``UserError``."""
    seed = cfg.get("seed")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise UserError(f"seed={seed!r}: must be an integer ≥ 0")
    for group, schema in (("hardware", HardwareSchema), ("profile", ProfileSchema)):
        try:
            OmegaConf.merge(OmegaConf.structured(schema), cfg[group])
        except OmegaConfBaseException as exc:
            raise UserError(f"{group}: {' '.join(str(exc).split())}") from None
    if not (isinstance(cfg.hardware.threads, int) and cfg.hardware.threads >= 1):
        raise UserError(f"hardware.threads={cfg.hardware.threads!r}: must be an integer ≥ 1")
    for group in ("method", "dataset", "split"):
        if group not in cfg:
            continue
        container = OmegaConf.to_container(cfg[group], resolve=True)
        _check_options(container, group)
        for path, value in _walk(container, group):
            rule = RANGES.get(path.rsplit(".", 1)[-1])
            if rule is not None and value is not None and not rule[0](value):
                raise UserError(f"{path}={value!r}: must be {rule[1]}")
