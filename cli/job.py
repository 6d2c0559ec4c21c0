"""The one job function behind ``iclr run``, ``iclr run -m`` and ``iclr table``."""

from __future__ import annotations

import logging
import platform
import subprocess
import time
import traceback
from datetime import datetime, timezone
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from iclr.cli import records, resolvers  # noqa: F401  (resolvers: ${iclr_min:...})
from iclr.cli.errors import UserError

OUTCOME_FILE = "job.json"
log = logging.getLogger("iclr")
_VERSIONED = ("iclr", "torch", "torch-geometric", "hydra-core", "omegaconf", "numpy")


@cache
def _versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in _VERSIONED:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


@cache
def git_state() -> dict[str, Any]:
    """The code's git commit and whether tracked files differ from it (None outside git)."""
    here = Path(__file__).resolve().parent

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", *args], cwd=here, capture_output=True, text=True, timeout=5, check=True
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip()

    sha = git("rev-parse", "HEAD")
    dirty = git("status", "--porcelain", "--untracked-files=no") if sha else None
    return {"git_sha": sha, "git_dirty": bool(dirty) if sha else None}


def resolve_config(cfg: DictConfig) -> dict[str, Any]:
    """The config as plain data with interpolations resolved and paths made absolute."""
    container = OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)
    assert isinstance(container, dict)
    container.pop("hydra", None)
    paths = container.get("paths", {})
    for name, value in paths.items():
        if value is not None:
            paths[name] = str(Path(value).expanduser().resolve())
    return container


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if isinstance(exc, UserError) else f"{type(exc).__name__}: {text}"


def execute_job(
    cfg: DictConfig,
    out_dir: Path,
    overrides: list[str],
    force: bool = False,
    rerun_stale: bool = False,
) -> records.Outcome:
    """Run one (method, dataset, seed) job unless its record exists; return the job's outcome.

    The outcome (also written to ``out_dir/job.json`` for the sweep summary) says ``done``,
    ``cached`` or ``failed``. A record made by other code is reused unless ``rerun_stale``. A
    failing method writes a failed record plus its traceback and does not raise; Ctrl-C
    propagates and leaves no record.
    """
    from iclr.methods.registry import get_method

    config = resolve_config(cfg)
    method, dataset, seed = config["method"]["name"], config["dataset"]["name"], config["seed"]
    entry = get_method(method)
    code = records.code_version(entry.entrypoint)
    key = records.cell_key(config)
    results_dir = Path(config["paths"]["output_dir"]) / "results"
    path = records.record_path(results_dir, method, dataset, key, seed)
    out_dir.mkdir(parents=True, exist_ok=True)

    # One process per (cell, seed): a second identical sweep waits here, then finds the record.
    with records.record_lock(path):
        previous = None if force else _previous(path)
        if previous is not None and previous.ok and not (rerun_stale and previous.stale(code)):
            outcome = records.Outcome(
                "cached", previous, str(path), str(out_dir), stale=previous.stale(code)
            )
            _write_outcome(out_dir, outcome)
            return outcome
        return _run(cfg, config, entry.name, path, out_dir, overrides, code, key)


def _previous(path: Path) -> records.Record | None:
    if not path.is_file():
        return None
    try:
        return records.load_record(path)
    except records.RecordError as exc:
        log.warning("overwriting unreadable record %s (%s)", path, exc)
        return None


def _run(
    cfg: DictConfig,
    config: dict[str, Any],
    method: str,
    path: Path,
    out_dir: Path,
    overrides: list[str],
    code: str,
    key: str,
) -> records.Outcome:
    from iclr.methods.registry import get_method, load_entrypoint

    entry = get_method(method)
    dataset, seed = config["dataset"]["name"], config["seed"]
    record = records.Record(
        method=method,
        dataset=dataset,
        seed=seed,
        cell_key=key,
        status="running",
        # a method whose task reports another metric than the dataset's (link prediction: MRR)
        main_metric=config["method"].get("metric") or config["dataset"].get("metric", "test_acc"),
        overrides=overrides,
        selection=config["method"].get("selection", "final epoch"),
        summary_metrics=list(entry.summary_metrics),
        profile=str(config.get("profile", {}).get("name", "paper")),
        code=code,
        started_at=_now(),
        run_dir=str(out_dir),
        host=platform.node(),
        versions=_versions(),
        **git_state(),
    )
    log.info("%s on %s, seed %s (cell %s): started in %s", method, dataset, seed, key, out_dir)
    start = time.perf_counter()
    try:
        from iclr.methods.common.runtime import setup_torch

        device = setup_torch(seed, cfg.hardware)
        metrics = load_entrypoint(method)(OmegaConf.create(config), out_dir, device)
        record.status, record.metrics = "ok", {k: float(v) for k, v in metrics.items()}
    except Exception as exc:  # a failing job must not stop the sweep
        trace = traceback.format_exc()
        trace_path = path.with_suffix(".traceback.txt")
        (out_dir / "traceback.txt").write_text(trace)
        try:
            records.write_atomic(trace_path, trace)
        except OSError:
            trace_path = out_dir / "traceback.txt"
        record.status, record.error, record.traceback = "failed", _one_line(exc), str(trace_path)
    record.runtime_s = round(time.perf_counter() - start, 3)
    record.finished_at, record.config = _now(), config
    if record.ok and (out_dir / "history.csv").is_file():
        _plot_curves(out_dir, record)
    try:
        records.write_record(path, record)
    except OSError as exc:
        # the store went away during the run: the finished work stays in the run folder
        kept = out_dir / "record.json"
        records.write_atomic(kept, record.to_json())
        raise UserError(
            f"could not write the record to {path} ({exc.strerror}); its metrics are kept in"
            f" {kept}: copy it there once the results folder is writable"
        ) from None
    value = record.value
    log.info(
        "%s: %s%s in %.1f s; record %s",
        record.status,
        record.main_metric,
        f" = {value:.4f}" if value is not None else " missing",
        record.runtime_s,
        path,
    )
    outcome = records.Outcome("done" if record.ok else "failed", record, str(path), str(out_dir))
    _write_outcome(out_dir, outcome)
    return outcome


def _plot_curves(out_dir: Path, record: records.Record) -> None:
    """Every training run gets its learning curves beside ``history.csv`` (unless the method
    drew its own); a plotting failure never fails the run."""
    target = out_dir / "learning_curves.png"
    if target.exists():
        return
    try:
        from iclr.methods.common.curves import plot_history

        plot_history(out_dir / "history.csv", target, record.metrics.get("best_epoch"))
    except Exception as exc:  # matplotlib missing or an odd history: keep the run
        log.warning("no learning-curve plot: %s", exc)


def _write_outcome(out_dir: Path, outcome: records.Outcome) -> None:
    records.write_atomic(out_dir / OUTCOME_FILE, outcome.to_json())
