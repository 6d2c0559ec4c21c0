"""A paper is a plug-in: its method configs register it, every method has a smoke profile that
runs, profiles and task families are checked before a job, tables go through Hydra's launchers,
and records know the code that made them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import composed, needs_planetoid
from iclr.cli import records
from iclr.cli.compose import compose_config
from iclr.cli.errors import UserError
from iclr.cli.job import execute_job, resolve_config
from iclr.cli.overrides import group_choices
from iclr.methods import registry

METHODS = sorted(registry.methods())


def test_method_list_is_built_from_the_method_configs():
    assert group_choices("method") == METHODS
    for entry in registry.methods().values():
        assert entry.entrypoint.startswith(f"iclr.methods.{entry.paper}.") or entry.paper in {
            "baseline"
        }
        assert f"{entry.name}_smoke" in group_choices("method_profile"), entry.name


def test_method_config_without_entrypoint_names_the_file_and_the_fix(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: broken\npaper: x\nsummary: s\ntasks: [images]\nsmoke_dataset: digits\n")
    with pytest.raises(UserError, match=r"broken.yaml: add entrypoint"):
        registry.parse_method(path)


def test_entrypoint_that_does_not_import_is_one_clear_error(monkeypatch, tmp_path):
    path = tmp_path / "ghost.yaml"
    path.write_text(
        "name: ghost\nentrypoint: iclr.methods.ghost.pipeline:run\npaper: ghost\nsummary: s\n"
        "tasks: [images]\nsmoke_dataset: digits\n"
    )
    monkeypatch.setattr(registry, "methods", lambda: {"ghost": registry.parse_method(path)})
    with pytest.raises(UserError, match=r"ghost.yaml: entrypoint .* does not import"):
        registry.load_entrypoint("ghost")


def test_unknown_profile_and_wrong_task_family_fail_before_the_job(cli, iclr_env):
    code, _, err = cli("run", "method=gcn", "dataset=cora", "profile=cpu")
    assert code == 2 and "gcn has no profile 'cpu'" in err and "paper, smoke" in err
    code, _, err = cli("run", "method=gcn", "dataset=dg15")
    assert code == 2 and "does not take domain_adaptation datasets" in err
    assert not (iclr_env / "results").exists()


def test_profile_is_not_part_of_the_cell_key_but_its_overrides_are():
    smoke = resolve_config(compose_config(["method=gcn", "dataset=cora", "profile=smoke"]))
    same = resolve_config(compose_config(["method=gcn", "dataset=cora", "method.epochs=3"]))
    paper = resolve_config(compose_config(["method=gcn", "dataset=cora"]))
    assert smoke["profile"]["label"].startswith("smoke")
    assert records.cell_key(smoke) == records.cell_key(same) != records.cell_key(paper)


def test_cell_keys_of_unchanged_configs_survive_the_redesign():
    # Values computed before method metadata (entrypoint, paper, ...) and profiles existed.
    assert records.cell_key(resolve_config(composed("method.epochs=3"))) == "cd08651c3d"
    assert records.cell_key(resolve_config(composed("method=coldbrew"))) == "9e2ffae7a5"


@pytest.mark.parametrize("method", METHODS)
def test_every_method_runs_its_smoke_profile(method, tmp_path, iclr_env):
    dataset = registry.methods()[method].smoke_dataset
    cfg = compose_config([f"method={method}", f"dataset={dataset}", "profile=smoke"])
    outcome = execute_job(cfg, tmp_path / "run", overrides=[])
    assert outcome.state == "done", outcome.record.error
    assert outcome.record.value is not None, sorted(outcome.record.metrics)
    assert outcome.record.profile == "smoke"
    assert outcome.record.code == records.code_version(registry.methods()[method].entrypoint)


def test_code_version_follows_the_method_package_source(tmp_path, monkeypatch):
    root = tmp_path / "iclr"
    for folder in ("methods/paper", "methods/common", "data"):
        (root / folder).mkdir(parents=True)
        (root / folder / "a.py").write_text("x = 1\n")
    monkeypatch.setattr(records, "_package_root", lambda: root)
    before = records.code_version.__wrapped__("iclr.methods.paper.a:run")
    (root / "methods/paper/a.py").write_text("x = 2\n")
    assert records.code_version.__wrapped__("iclr.methods.paper.a:run") != before


def _tiny_table(tmp_path: Path) -> Path:
    (tmp_path / "conf" / "tables" / "demo").mkdir(parents=True)
    (tmp_path / "conf" / "tables" / "demo" / "tiny.yaml").write_text(
        "title: tiny\nsource: none\nmetric: test_acc\nseeds: [0]\ntolerance: 1\nscale: 100\n"
        "profile: smoke\n"
        "rows:\n- {name: GCN, overrides: [method=gcn]}\ncols:\n- {name: Cora, overrides: "
        "[dataset=cora]}\npaper: {GCN: {Cora: 81.5}}\n"
    )
    return tmp_path / "conf"


@needs_planetoid
@pytest.mark.parametrize("launcher", ["basic", "submitit_local"])
def test_table_runs_through_a_hydra_launcher_and_finds_its_records(
    launcher, cli, iclr_env, tmp_path, monkeypatch
):
    import iclr.cli.tables as tables

    conf = _tiny_table(tmp_path)
    monkeypatch.setattr(tables, "conf_dir", lambda: conf)
    extra = [] if launcher == "basic" else [f"hydra/launcher={launcher}"]
    code, out, err = cli("table", "demo/tiny", "--format", "csv", *extra)
    assert code == 0, err
    assert "1 jobs run (0 failed)" in err
    row = out.strip().splitlines()[1].split(",")
    assert row[:2] == ["GCN", "Cora"] and float(row[2]) > 14.0 and row[4] == "1"
    assert len(list(iclr_env.glob("results/gcn/cora/*/seed=0.json"))) == 1
    # the run went through Hydra's sweep folder, one numbered job folder per job
    assert list(iclr_env.glob("sweeps/*/*-table-demo-tiny/0/job.json"))


@needs_planetoid
def test_records_made_by_other_code_are_stale_until_rerun(cli, iclr_env, tmp_path, monkeypatch):
    import iclr.cli.tables as tables

    conf = _tiny_table(tmp_path)
    monkeypatch.setattr(tables, "conf_dir", lambda: conf)
    assert cli("table", "demo/tiny")[0] == 0
    path = next(iclr_env.glob("results/gcn/cora/*/seed=0.json"))
    stored = json.loads(path.read_text())
    path.write_text(json.dumps({**stored, "code": "older"}))
    code, out, _ = cli("table", "demo/tiny", "--plan", "--format", "csv")
    assert code == 0 and "stale code: seeds 0" in out
    code, out, _ = cli("results", "--format", "csv")
    assert out.strip().splitlines()[1].endswith(",0,1")  # failed 0, stale 1
    code, _, err = cli("table", "demo/tiny", "--rerun-stale")
    assert code == 0 and "1 jobs run" in err
    assert json.loads(path.read_text())["code"] != "older"


def test_table_rejects_trailing_overrides_that_change_results(cli):
    code, _, err = cli("table", "baselines/planetoid", "method.epochs=3")
    assert code == 2 and "would change results" in err and "--set" in err


@needs_planetoid
def test_no_run_renders_from_records_and_unavailable_rows_say_why(
    cli, iclr_env, tmp_path, monkeypatch
):
    import iclr.cli.tables as tables

    conf = _tiny_table(tmp_path)
    spec = conf / "tables" / "demo" / "tiny.yaml"
    spec.write_text(
        spec.read_text().replace(
            "rows:\n",
            "rows:\n- {name: Other, overrides: [method=mlp],"
            " unavailable: 'not run (no weights)'}\n",
        )
    )
    monkeypatch.setattr(tables, "conf_dir", lambda: conf)
    code, out, err = cli("table", "demo/tiny", "--no-run", "--format", "csv")
    assert code == 0 and "0 jobs run" in err
    assert "Other,Cora,,,0,,,not run (no weights)" in out and "GCN,Cora,,,0,81.5,,missing" in out
    code, out, err = cli("table", "demo/tiny", "--format", "csv")
    assert code == 0 and "1 jobs run (0 failed)" in err  # the unavailable row never launches


def test_fetching_code_does_not_make_records_stale(tmp_path, monkeypatch):
    root = tmp_path / "iclr"
    for folder in ("methods/paper", "methods/common", "data"):
        (root / folder).mkdir(parents=True)
        (root / folder / "a.py").write_text("x = 1\n")
    (root / "data" / "store.py").write_text("fetch = 1\n")
    monkeypatch.setattr(records, "_package_root", lambda: root)
    before = records.code_version.__wrapped__("iclr.methods.paper.a:run")
    (root / "data" / "store.py").write_text("fetch = 2\n")
    assert records.code_version.__wrapped__("iclr.methods.paper.a:run") == before
    (root / "data" / "a.py").write_text("x = 2\n")  # a generic loader: results may change
    assert records.code_version.__wrapped__("iclr.methods.paper.a:run") != before
