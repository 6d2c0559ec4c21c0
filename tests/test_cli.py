"""The command line end to end through Typer's runner, on real Cora/CiteSeer from the mirror."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import needs_planetoid

FAST = "method.epochs=15"


def records(outputs: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(outputs.glob("results/**/seed=*.json"))]


def test_help_does_not_import_torch_or_hydra():
    code = (
        "import sys; from typer.testing import CliRunner; from iclr.cli.main import app; "
        "r = CliRunner().invoke(app, ['--help']); assert r.exit_code == 0, r.stdout; "
        "heavy = [m for m in ('torch', 'hydra', 'pandas', 'torch_geometric') if m in sys.modules]; "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@needs_planetoid
def test_single_run_writes_a_complete_record(cli, iclr_env):
    code, out, err = cli("run", "method=gcn", "dataset=cora", FAST)
    assert code == 0, err
    [record] = records(iclr_env)
    assert record["status"] == "ok"
    assert (record["method"], record["dataset"], record["seed"]) == ("gcn", "cora", 0)
    assert {"test_acc", "val_acc", "best_epoch"} <= set(record["metrics"])
    assert record["config"]["method"]["epochs"] == 15
    for field in ("cell_key", "selection", "versions", "git_sha", "runtime_s", "overrides"):
        assert field in record
    path = iclr_env / "results" / "gcn" / "cora" / record["cell_key"] / "seed=0.json"
    assert path.is_file()
    history = Path(record["run_dir"]) / "history.csv"
    assert len(history.read_text().splitlines()) == 16  # header + 15 epochs
    assert "test_acc" in out and "done" in out


@needs_planetoid
def test_sweep_then_rerun_is_cached_then_force_reruns(cli, iclr_env):
    args = ("run", "-m", "method=mlp,gcn", "dataset=cora,citeseer", FAST)
    code, out, _ = cli(*args)
    assert code == 0
    assert "4 jobs: 4 done, 0 cached, 0 failed" in out
    assert len(records(iclr_env)) == 4
    code, out, _ = cli(*args)
    assert code == 0 and "4 jobs: 0 done, 4 cached, 0 failed" in out
    code, out, _ = cli(*args, "--force")
    assert code == 0 and "4 jobs: 4 done, 0 cached, 0 failed" in out
    assert len(records(iclr_env)) == 4


@needs_planetoid
def test_seed_range_sweep(cli, iclr_env):
    code, out, _ = cli("run", "-m", "method=mlp", "dataset=cora", "seed=range(0,3)", FAST)
    assert code == 0 and "3 jobs: 3 done" in out
    assert sorted(r["seed"] for r in records(iclr_env)) == [0, 1, 2]


@needs_planetoid
def test_failing_job_is_recorded_and_sweep_continues(cli, iclr_env, monkeypatch):
    # a failure only the job can find (the pre-flight rejects every bad value it can judge)
    import iclr.methods.baselines.node_classification as node_classification

    real = node_classification.run

    def run(cfg, out_dir, device):
        if cfg.method.hidden == 17:
            raise ValueError("hidden 17 is cursed")
        return real(cfg, out_dir, device)

    monkeypatch.setattr(node_classification, "run", run)
    args = ("run", "-m", "method=gcn", "dataset=cora", "method.hidden=17,16", FAST)
    code, out, err = cli(*args)
    assert code == 1
    assert "2 jobs: 1 done, 0 cached, 1 failed" in out
    by_hidden = {r["config"]["method"]["hidden"]: r for r in records(iclr_env)}
    assert by_hidden[16]["status"] == "ok"
    failed = by_hidden[17]
    assert failed["status"] == "failed" and "hidden 17 is cursed" in failed["error"]
    assert "Traceback" in Path(failed["traceback"]).read_text()
    # the error is listed whole below the table, with the override that caused it
    assert "failed #0 gcn/cora method.hidden=17" in err and "hidden 17 is cursed" in err
    # a failed record is not "done": the next run retries it
    code, out, _ = cli(*args)
    assert "1 cached, 1 failed" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["method=nope", "dataset=cora"], "unknown method 'nope'; choose one of:"),
        (["method=gcn", "dataset=nope"], "unknown dataset 'nope'; choose one of:"),
        (["dataset=cora"], "missing method=NAME; choose one of:"),
        (["method=gcn"], "missing dataset=NAME; choose one of:"),
        (["method=gcn", "dataset=cora", "method.lr=abc"], "method.lr='abc': expected float"),
        (["method=gcn", "dataset=cora", "method.epochs=1.5"], "method.epochs=1.5: expected int"),
        (["method=gcn", "dataset=cora", "method.nope=1"], "bad override:"),
        (["method=gcn,mlp", "dataset=cora"], "is a sweep: add -m"),
        (["-m", "method=gcn,nope", "dataset=cora"], "unknown method 'nope'"),
        (["method=gcn", "dataset=cora", "hardware=tpu"], "unknown hardware 'tpu'"),
    ],
)
def test_bad_input_gives_one_line_error(cli, iclr_env, args, message):
    code, out, err = cli("run", *args)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], err
    assert not (iclr_env / "results").exists()


def test_cfg_job_prints_composed_config_and_runs_nothing(cli, iclr_env):
    code, out, _ = cli("run", "method=gcn", "dataset=cora", "method.hidden=32", "--cfg", "job")
    assert code == 0
    assert "hidden: 32" in out and "name: cora" in out
    assert not (iclr_env / "results").exists()


@needs_planetoid
def test_results_aggregates_over_seeds(cli, iclr_env):
    cli("run", "-m", "method=mlp", "dataset=cora", "seed=0,1,2", FAST)
    code, out, _ = cli("results", "--format", "csv")
    assert code == 0
    header, row = out.strip().splitlines()
    assert header == "method,dataset,setting,cell_key,metric,mean,std,n,failed,stale"
    values = row.split(",")
    assert values[:2] == ["mlp", "cora"] and values[7] == "3"
    accs = [r["metrics"]["test_acc"] for r in records(iclr_env)]
    assert float(values[5]) == pytest.approx(sum(accs) / 3, abs=1e-5)
    code, out, _ = cli("results", "--format", "md", "--method", "gcn")
    assert code == 2 or "gcn" not in out
    code, out, _ = cli("results", "--format", "latex")
    assert code == 0 and r"\begin{tabular}" in out and r"$\pm$" in out


@needs_planetoid
def test_table_plans_runs_missing_then_caches(cli, iclr_env):
    table = ("table", "baselines/planetoid", "--seeds", "0", "--set", "method.epochs=5")
    code, out, _ = cli(*table, "--plan", "--format", "csv")
    assert code == 0
    assert out.count("to run 1/1") == 6 and out.count("not run (data unavailable offline)") == 3
    code, out, err = cli(*table, "--format", "csv")
    assert code == 0, err
    assert "6 jobs run (0 failed)" in err
    lines = out.strip().splitlines()
    assert lines[0] == "row,col,mean,std,n,paper,delta,status"
    gcn_cora = next(line for line in lines if line.startswith("GCN,Cora,"))
    assert gcn_cora.split(",")[4] == "1" and gcn_cora.split(",")[5] == "81.5"
    assert (iclr_env / "tables" / "baselines" / "planetoid.md").is_file()
    code, out, err = cli(*table, "--format", "md")
    assert code == 0 and "0 jobs run" in err


def test_unknown_table_and_format(cli):
    code, _, err = cli("table", "nope/nope")
    assert code == 2 and "unknown table 'nope/nope'; choose one of: baselines/planetoid" in err
    code, _, err = cli("results", "--format", "xls")
    assert code == 2 and "unknown format 'xls'" in err


def test_list(cli):
    code, out, _ = cli("list", "methods")
    assert code == 0 and "gcn" in out and "sage" in out
    code, out, _ = cli("list", "tables")
    assert code == 0 and "baselines/planetoid" in out
    code, _, err = cli("list", "nope")
    assert code == 2 and "choose one of" in err


def test_sweep_keeps_group_at_package_overrides_unforced():
    from iclr.cli.overrides import for_sweep

    assert for_sweep(["backbone@dataset.backbone=cnn", "method.lam=1", "seed=0,1"]) == [
        "backbone@dataset.backbone=cnn",
        "++method.lam=1",
        "++seed=0,1",
    ]
