"""Check ``iclr run`` overrides before Hydra starts, so that mistakes give one clear line.

Unknown or missing method/dataset, a value of the wrong type, an unknown key or a sweep without
``-m`` all become a ``UserError`` naming the fix, instead of Hydra's multi-line report.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from iclr.cli.errors import UserError
from iclr.cli.locations import conf_dir

GROUPS = ("method", "dataset", "hardware", "split", "profile")
REQUIRED = ("method", "dataset")


@dataclass(frozen=True)
class Plan:
    """The jobs an ``iclr run`` command line expands to."""

    jobs: list[list[str]]  # one override list per job

    @property
    def size(self) -> int:
        return len(self.jobs)


def group_choices(group: str) -> list[str]:
    """Option names of a config group (the YAML files in ``conf/<group>/``)."""
    return sorted(p.stem for p in (conf_dir() / group).glob("*.yaml"))


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def expand(overrides: list[str], multirun: bool) -> Plan:
    """Parse overrides and expand sweeps into one override list per job."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except HydraException as exc:
        raise UserError(f"cannot parse override: {_first_line(exc)}") from None
    sweeps = [o.input_line for o in parsed if o.is_sweep_override()]
    if sweeps and not multirun:
        raise UserError(f"'{sweeps[0]}' is a sweep: add -m (iclr run -m ...) to run every value")
    given = {o.key_or_group: o for o in parsed}
    for group in REQUIRED:
        if group not in given:
            raise UserError(
                f"missing {group}=NAME; choose one of: {', '.join(group_choices(group))}"
            )
    for group in GROUPS:
        if group in given:
            override = given[group]
            values = (
                list(override.sweep_string_iterator())
                if override.is_sweep_override()
                else [override.value()]
            )
            choices = group_choices(group)
            for value in values:
                if value not in choices:
                    raise UserError(
                        f"unknown {group} '{value}'; choose one of: {', '.join(choices)}"
                    )
    try:
        batches = BasicSweeper.split_arguments(parsed, None)
    except HydraException as exc:
        raise UserError(f"cannot expand sweep: {_first_line(exc)}") from None
    jobs = [job for batch in batches for job in batch]
    return Plan(jobs=jobs)


def _key(override: str) -> str:
    return override.split("=", 1)[0].lstrip("+~")


def _is_group(key: str) -> bool:
    # ``group@package=option`` (e.g. ``backbone@dataset.backbone=cnn``) selects a config group.
    return key in GROUPS or "/" in key or "@" in key or key in {"method_dataset", "method_profile"}


def _type_error(key: str, default: object, value: object) -> str | None:
    if default is None or value is None:
        return None
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    else:
        return None
    if ok:
        return None
    return f"{key}={value!r}: expected {type(default).__name__} (default {default!r})"


def for_sweep(overrides: list[str]) -> list[str]:
    """Prefix plain key overrides with ``++`` for Hydra's multirun.

    Hydra composes a sweep-level config before the jobs, with swept groups still unset, so
    ``method.epochs=5`` beside ``method=gcn,mlp`` would fail there ("not in struct"). Force-add
    is exact at the job level, where the key exists; unknown keys were already rejected by
    ``validate`` with the user's own overrides.
    """
    return [
        o
        if o.startswith(("+", "~")) or _is_group(_key(o)) or _key(o).startswith("hydra")
        else f"++{o}"
        for o in overrides
    ]


def validate(plan: Plan) -> None:
    """Compose every distinct job config; raise a one-line ``UserError`` on the first bad one."""
    from iclr.cli.compose import composer

    seen: set[tuple[str, ...]] = set()
    datasets: set[tuple[str, str, str]] = set()
    with composer() as compose:
        for job in plan.jobs:
            for override in job:
                if _key(override) == "seed":
                    check_seed(override.split("=", 1)[1])
            own = tuple(o for o in job if not _key(o).startswith("hydra") and _key(o) != "seed")
            if own in seen:
                continue
            seen.add(own)
            cfg = check_job(list(own), compose)
            datasets.add((cfg.dataset.name, cfg.paths.data_dir, str(cfg.paths.mirror or "")))
    for name, data_dir, mirror in sorted(datasets):
        check_data(name, Path(data_dir), Path(mirror) if mirror else None)


def check_seed(text: str) -> None:
    """A seed is a non-negative integer (it names a record file: ``seed=<s>.json``)."""
    if not text.isdigit():
        raise UserError(f"seed={text}: must be an integer ≥ 0 (e.g. seed=3, seed='range(0,5)')")


def check_data(name: str, data_dir: Path, mirror: Path | None) -> None:
    """Fail before any job when a dataset can be had from nowhere (no data root copy, no
    mirror, offline or unreachable source), saying how to get it."""
    from iclr.cli.errors import DataUnavailableError
    from iclr.data.registry import get_source
    from iclr.data.store import availability, how_to_get

    source = get_source(name)
    if availability(source, data_dir, mirror) == "unavailable":
        raise DataUnavailableError(
            f"not available offline: {how_to_get(source, data_dir / source.folder)}"
        )


def check_pairing(cfg: DictConfig) -> None:
    """The method accepts the dataset's task family, and has the selected profile."""
    from iclr.methods.registry import get_method

    entry = get_method(str(cfg.method.name))
    family = str(cfg.dataset.get("family", ""))
    if family not in entry.tasks:
        raise UserError(
            f"method {entry.name} does not take {family} datasets like {cfg.dataset.name}; it"
            f" takes {', '.join(entry.tasks)} (e.g. dataset={entry.smoke_dataset})"
        )
    profile = str(cfg.profile.name)
    if profile != "paper" and profile not in method_profiles(entry.name):
        raise UserError(
            f"method {entry.name} has no profile '{profile}' (no"
            f" conf/method_profile/{entry.name}_{profile}.yaml); its profiles:"
            f" {', '.join(['paper', *method_profiles(entry.name)])}"
        )


def method_profiles(method: str) -> list[str]:
    """The profiles a method ships besides ``paper`` (its ``method_profile`` files)."""
    prefix = f"{method}_"
    return [
        name[len(prefix) :]
        for name in group_choices("method_profile")
        if name.startswith(prefix) and name[len(prefix) :] in group_choices("profile")
    ]


def check_job(overrides: list[str], compose) -> DictConfig:
    """Compose one job's config and check it; return the composed config."""
    try:
        cfg: DictConfig = compose(overrides)
        OmegaConf.to_container(cfg, resolve=True)
    except Exception as exc:  # Hydra and OmegaConf raise many types; all are user input errors here
        raise UserError(f"bad override: {_first_line(exc)}") from None
    groups = [o for o in overrides if _is_group(_key(o))]
    defaults = compose(groups)
    for override in overrides:
        key = _key(override)
        if _is_group(key) or override.startswith(("+", "~")):
            continue
        problem = _type_error(key, OmegaConf.select(defaults, key), OmegaConf.select(cfg, key))
        if problem:
            raise UserError(problem)
    from iclr.cli import schema

    schema.check(cfg)
    check_pairing(cfg)
    return cfg


def expand_globs(overrides: list[str]) -> list[str]:
    """``group=glob(pattern)`` as the explicit list of matching options (``method=gcn,gcn_se``):
    Hydra expands glob() only inside its own sweeper, so our pre-flight expands it first."""
    from hydra._internal.grammar.utils import escape_special_characters
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.core.override_parser.types import Glob
    from hydra.errors import HydraException

    out = []
    for text in overrides:
        try:
            (parsed,) = OverridesParser.create().parse_overrides([text])
        except HydraException:
            out.append(text)  # expand() reports the parse error with its one line
            continue
        value = parsed.value() if parsed.is_sweep_override() else None
        if not isinstance(value, Glob):
            out.append(text)
            continue
        key = parsed.key_or_group
        if key not in GROUPS:
            raise UserError(
                f"glob() selects config-group options (e.g. method=glob(g*)), not {key}"
            )
        matched = value.filter(group_choices(key))
        if not matched:
            raise UserError(
                f"{text} matches no {key}; choose among: {', '.join(group_choices(key))}"
            )
        out.append(f"{key}={','.join(escape_special_characters(m) for m in matched)}")
    return out


_LAUNCHER_PLUGINS = {
    "joblib": ("hydra_plugins.hydra_joblib_launcher", "iclr[joblib]"),
    "submitit_local": ("hydra_plugins.hydra_submitit_launcher", "iclr[slurm]"),
    "submitit_slurm": ("hydra_plugins.hydra_submitit_launcher", "iclr[slurm]"),
}


def preflight(overrides: list[str], multirun: bool) -> None:
    """What must hold before Hydra starts: the launcher's plugin is installed (Slurm only for
    sweeps), a GPU exists when the hardware asks for one, and the output folder is writable."""
    import importlib.util

    from iclr.cli import locations

    values: dict[str, list[str]] = {}
    for override in overrides:
        key, _, value = override.partition("=")
        values.setdefault(key.lstrip("+"), []).extend(value.split(","))
    hardware = values.get("hardware", ["cpu"])
    launchers = values.get("hydra/launcher", [])
    if "slurm" in hardware:
        if not multirun:
            raise UserError(
                "hardware=slurm submits sweeps: add -m (iclr run -m hardware=slurm ...)"
            )
        launchers.append("submitit_slurm")
    for launcher in launchers:
        module, extra = _LAUNCHER_PLUGINS.get(launcher, (None, None))
        if module is not None and importlib.util.find_spec(module) is None:
            raise UserError(
                f"hydra/launcher={launcher} needs its Hydra plugin: pip install '{extra}'"
            )
    if "gpu" in hardware:
        import torch

        if not torch.cuda.is_available():
            raise UserError(
                "hardware=gpu but torch sees no GPU on this machine; use hardware=cpu or"
                " hardware=auto (CUDA when available)"
            )
    output = values.get("paths.output_dir")
    locations.check_writable(Path(output[0]).resolve() if output else locations.output_dir())
