"""Helpers shared by the benchmark scripts (not a benchmark itself).

Machine description, medians, subprocess timing, the data root, the project's own node-classifier
path (built with ``iclr``'s functions and configs, never copied) and result files under
``benchmarks/results/<name>.json`` / ``.md``.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

LOAD_AT_START = os.getloadavg()[0]
HERE = Path(__file__).resolve().parent
RESULTS_DIR = HERE / "results"
REPO = HERE.parent


def machine() -> dict[str, Any]:
    """Where and with what the figures were measured."""
    info: dict[str, Any] = {
        "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "host": platform.node(),
        "cpu_cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        # Other work on the machine skews timings: 1-minute load average at start and at the end.
        "load_avg_1m": [round(LOAD_AT_START, 2), round(os.getloadavg()[0], 2)],
    }
    for name in ("torch", "torch_geometric", "typer", "hydra"):
        module = sys.modules.get(name)
        if module is not None:
            info[name] = getattr(module, "__version__", "?")
    from iclr.cli.job import git_state

    state = git_state()
    sha = state["git_sha"]
    info["git"] = sha[:7] + ("-dirty" if state["git_dirty"] else "") if sha else None
    return info


def median(values: Sequence[float]) -> float:
    """Median of a non-empty sequence."""
    return float(statistics.median(values))


def mean_std(values: Sequence[float]) -> dict[str, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return {"mean": float(statistics.fmean(values)), "std": float(std), "n": len(values)}


def pm(stat: dict[str, float], scale: float = 100.0, digits: int = 1) -> str:
    """``mean ± std`` of a :func:`mean_std` result, scaled (default: as a percentage)."""
    return f"{stat['mean'] * scale:.{digits}f} ± {stat['std'] * scale:.{digits}f}"


def time_command(
    command: Sequence[str], env: dict[str, str] | None = None, cwd: Path | None = None
) -> tuple[float, str]:
    """Wall time (s) of one subprocess run and its stdout; raise if it fails."""
    start = time.perf_counter()
    done = subprocess.run(
        list(command), env=env, cwd=cwd, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
        )
    return seconds, done.stdout


def iclr_executable() -> str:
    """The ``iclr`` console script of the running interpreter's environment."""
    candidate = Path(sys.executable).parent / "iclr"
    if not candidate.exists():
        raise SystemExit(f"no iclr console script next to {sys.executable}; pip install -e .")
    return str(candidate)


def data_dir() -> Path:
    """The data root ``iclr`` uses (``ICLR_DATA_DIR``, default ``./data``)."""
    from iclr.cli import locations

    return locations.data_dir()


def ensure_data(*names: str) -> Path:
    """Copy datasets into the data root from the mirror if missing (``iclr data fetch``)."""
    from iclr.cli import locations
    from iclr.data.registry import get_source
    from iclr.data.store import ensure_local

    for name in names:
        ensure_local(get_source(name), locations.data_dir(), locations.mirror_dir())
    return locations.data_dir()


def compose(method: str, dataset: str, *overrides: str) -> Any:
    """The config ``iclr run method=M dataset=D [overrides]`` composes (Hydra section dropped)."""
    from iclr.cli.compose import compose_config

    return compose_config([f"method={method}", f"dataset={dataset}", *overrides])


@dataclass
class Setup:
    """One model ready to train: a step, an evaluation and the task it runs on."""

    step: Callable[[], float]
    evaluate: Callable[[], dict[str, float]]


def our_setup(method: str, dataset: str, seed: int) -> Setup:
    """The ``iclr run method=M dataset=D seed=S`` model, built by the project's own functions.

    Seeds and torch settings come from ``setup_torch`` with the composed ``hardware`` config
    (``hardware=cpu``: one thread); features stay sparse CSR and the propagation matrix is
    precomputed, exactly as in ``iclr.methods.baselines.node_classification.run``.
    """
    import torch
    import torch.nn.functional as F

    from iclr.methods.baselines import node_classification
    from iclr.methods.baselines.models import NodeClassifier
    from iclr.methods.baselines.sparse import propagation_matrix
    from iclr.methods.common.node_task import load_node_task
    from iclr.methods.common.runtime import setup_torch

    cfg = compose(method, dataset, f"seed={seed}")
    m = cfg.method
    setup_torch(seed, cfg.hardware)
    task = load_node_task(cfg, sparse_features=m.get("sparse_features", True))
    model = NodeClassifier(
        m.architecture, task.x.shape[1], m.hidden, task.num_classes, m.layers, m.dropout
    )
    adj = (
        propagation_matrix(task.edge_index, task.num_nodes, model.propagation)
        if model.propagation
        else None
    )
    optimizer = node_classification.make_optimizer(model, m)
    train = task.masks["train"]

    def step() -> float:
        model.train()
        optimizer.zero_grad()
        logits = model(task.x, adj)
        loss = F.cross_entropy(logits[train], task.y[train])
        loss.backward()
        optimizer.step()
        return float(loss.detach())

    @torch.no_grad()
    def evaluate() -> dict[str, float]:
        model.eval()
        return task.evaluate(model(task.x, adj))

    return Setup(step, evaluate)


def time_steps(
    step: Callable[[], Any], epochs: int, warmup: int, max_seconds: float | None = None
) -> list[float]:
    """Seconds of each of ``epochs`` calls of ``step`` after ``warmup`` untimed calls.

    With ``max_seconds``, stop early once warm-up and timed calls together took that long (at
    least one call is always timed), so a pathological setting cannot stall a benchmark.
    """
    begin = time.perf_counter()
    for _ in range(warmup):
        step()
    times: list[float] = []
    for _ in range(epochs):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
        if max_seconds is not None and time.perf_counter() - begin > max_seconds:
            break
    return times


def write_results(name: str, figures: dict[str, Any], summary: str) -> Path:
    """Write ``results/<name>.json`` (figures + machine) and ``results/<name>.md``; echo both."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    payload = {"benchmark": name, "machine": machine(), "figures": figures}
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2) + "\n")
    info = payload["machine"]
    header = (
        f"# {name}\n\nMeasured {info['measured_at']} on {info['cpu_cores']} cores "
        f"({info['platform']}, Python {info['python']}, torch {info.get('torch', '-')}, "
        f"git {info['git']}; load average {info['load_avg_1m'][0]} at start, "
        f"{info['load_avg_1m'][1]} at the end).\n\n"
    )
    (RESULTS_DIR / f"{name}.md").write_text(header + summary.rstrip() + "\n")
    print(summary.rstrip())
    print(f"\nwritten: {path} and {path.with_suffix('.md')}")
    return path
