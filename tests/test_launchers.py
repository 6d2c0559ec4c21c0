"""Sweeps through Hydra launchers: joblib in parallel, and the Slurm config via submitit's
local executor (the same code path a cluster uses, minus the scheduler)."""

from __future__ import annotations

import json

import pytest

from helpers import needs_planetoid


@needs_planetoid
def test_joblib_launcher_runs_a_sweep_in_parallel(cli, iclr_env):
    pytest.importorskip("hydra_plugins.hydra_joblib_launcher")
    code, out, err = cli(
        "run",
        "-m",
        "method=mlp",
        "dataset=cora",
        "seed=0,1",
        "method.epochs=5",
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
    )
    assert code == 0, err
    assert "2 jobs: 2 done, 0 cached, 0 failed" in out


@needs_planetoid
def test_slurm_hardware_config_through_submitit_local_executor(cli, iclr_env):
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    code, out, err = cli(
        "run",
        "-m",
        "hardware=slurm",
        "hydra/launcher=submitit_local",
        "hydra.launcher.gpus_per_node=0",
        "hydra.launcher.timeout_min=5",
        "method=mlp",
        "dataset=cora",
        "method.epochs=5",
    )
    assert code == 0, out + err
    assert "1 job: 1 done" in out
    [path] = iclr_env.glob("results/mlp/cora/*/seed=0.json")
    record = json.loads(path.read_text())
    assert record["status"] == "ok" and record["config"]["hardware"]["threads"] == 4


@needs_planetoid
def test_table_runs_cells_in_a_process_pool(cli, iclr_env):
    code, out, err = cli(
        "table",
        "baselines/planetoid",
        "--seeds",
        "0",
        "--jobs",
        "2",
        "--set",
        "method.epochs=3",
        "--format",
        "csv",
    )
    assert code == 0, err
    assert "6 jobs run (0 failed)" in err
    assert len(list(iclr_env.glob("results/*/*/*/seed=0.json"))) == 6
