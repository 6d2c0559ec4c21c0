"""Hardening: values are checked before a job, write faults lose no work, corrupt caches and
records are detected and repaired, and output stays readable when piped."""

from __future__ import annotations

import json
import re
import threading
import time

import pytest

from helpers import MIRROR, composed, needs_planetoid
from iclr.cli import records, schema
from iclr.cli.compose import compose_config
from iclr.cli.errors import UserError
from iclr.cli.job import execute_job, resolve_config
from iclr.cli.overrides import expand, expand_globs
from iclr.methods.registry import methods


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["method.epochs=-5"], "method.epochs=-5: must be an integer ≥ 1"),
        (["method.hidden=0"], "method.hidden=0: must be an integer ≥ 1"),
        (["method.dropout=1.5"], "method.dropout=1.5: must be a number in [0, 1)"),
        (["method.lr=-1"], "method.lr=-1: must be a number > 0"),
        (["seed=-1"], "seed=-1: must be an integer ≥ 0"),
        (["seed=notanumber"], "seed=notanumber: must be an integer ≥ 0"),
        (["hardware.threads=0"], "hardware.threads=0: must be an integer ≥ 1"),
        (["hardware.device=tpu"], "expected one of [cpu, cuda, auto]"),
        (["dataset=dg15"], "gcn does not take domain_adaptation datasets"),
        (["hardware=slurm"], "hardware=slurm submits sweeps: add -m"),
        (["method.architecture=gcm"], "method.architecture='gcm': choose one of mlp, gcn, sage"),
    ],
)
def test_nonsense_values_exit_2_before_anything_is_written(cli, iclr_env, args, message):
    overrides = ["method=gcn", "dataset=cora", *args]
    if args[0].startswith("dataset="):
        overrides = ["method=gcn", *args]
    code, out, err = cli("run", *overrides)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert not (iclr_env / "results").exists()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            ["method=indomain_cnn", "dataset=dsprites_like", "dataset.split=holdout"],
            "dataset.split='holdout': choose one of random, composition",
        ),
        (
            ["method=indomain_cnn", "dataset=dsprites_like", "method.model=vit"],
            "method.model='vit': choose one of mlp",
        ),
        (
            ["method=trajattr", "dataset=eth_ucy_eth", "method.attribution.estimator=owen"],
            "method.attribution.estimator='owen'",
        ),
        (
            ["method=trajattr", "dataset=eth_ucy_eth", "dataset.fold=mars"],
            "dataset.fold='mars': choose one of eth",
        ),
        (
            ["method=transencoder", "dataset=sts_sickr", "method.pool.sources=[sts12,qqp]"],
            "method.pool.sources=['qqp']",
        ),
        (
            ["method=psagan", "dataset=m4_hourly", "method.variant.kind=bogus"],
            "method.variant.kind='bogus'",
        ),
        (
            ["method=deepaa", "dataset=deepaa_digits", "method.train.schedule=linear"],
            "method.train.schedule='linear'",
        ),
        (
            [
                "method=deepaa",
                "dataset=deepaa_digits",
                "dataset.pretrain_augment=[RandCrop,Rotate]",
            ],
            "dataset.pretrain_augment=['Rotate']",
        ),
        (
            ["method=coldbrew", "dataset=cora", "split.labels=all"],
            "split.labels='all': choose one of first, public",
        ),
        (["method=coldbrew", "dataset=cora", "+split.isolate=never"], "split.isolate='never'"),
        (["method=gcn", "dataset=cora", "dataset.split=geom"], "dataset.split='geom'"),
    ],
)
def test_a_typo_in_any_declared_string_option_is_rejected_before_the_job(overrides, message):
    with pytest.raises(UserError, match=re.escape(message)):
        schema.check(compose_config(overrides))


def test_a_table_set_override_is_checked_like_a_run_override(cli, iclr_env):
    code, _, err = cli("table", "baselines/planetoid", "--plan", "--set", "method.architecture=gcm")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "method.architecture='gcm': choose one of mlp, gcn, sage" in err


def test_diva_on_a_graph_dataset_is_rejected_up_front(cli, iclr_env):
    code, _, err = cli("run", "method=diva", "dataset=cora")
    assert code == 2 and "diva does not take node_classification datasets" in err


@pytest.mark.parametrize(
    ("sweep", "jobs"),
    [
        (["method=gcn,mlp", "dataset=cora"], 2),
        (["method=gcn", "dataset=cora", "seed=range(0,3)"], 3),
        (["method=glob(gcn*)", "dataset=cora"], len([m for m in methods() if m.startswith("gcn")])),
        (["method=glob(*,exclude=[g*,*_*,rim,mdd])", "dataset=cora"], None),
    ],
)
def test_every_readme_sweep_syntax_expands(sweep, jobs):
    plan = expand(expand_globs(sweep), multirun=True)
    if jobs is not None:
        assert plan.size == jobs
    else:  # an exclusion glob: every remaining method without "_" or a leading "g"
        methods = sorted({o for job in plan.jobs for o in job if o.startswith("method=")})
        assert "method=mlp" in methods and not any(m.startswith("method=g") for m in methods)


def test_glob_that_matches_nothing_names_the_choices():
    with pytest.raises(UserError, match="matches no method; choose among"):
        expand_globs(["method=glob(zz*)"])


def test_bare_info_and_gpu_on_a_cpu_machine(cli):
    assert cli("run", "--info")[0] == 0
    import torch

    if not torch.cuda.is_available():
        code, _, err = cli("run", "method=gcn", "dataset=cora", "hardware=gpu")
        assert code == 2 and "torch sees no GPU" in err


def test_missing_launcher_plugin_is_one_line(monkeypatch):
    import importlib.util

    from iclr.cli.overrides import preflight

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(UserError, match=r"pip install 'iclr\[slurm\]'"):
        preflight(["method=gcn", "hardware=slurm"], multirun=True)


def test_output_under_a_regular_file_fails_before_training(cli, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = cli("run", "method=gcn", "dataset=cora", f"paths.output_dir={blocker}/out")
    assert code == 2 and "which is a file" in err


@needs_planetoid
def test_failed_record_write_keeps_the_metrics_in_the_run_folder(monkeypatch, tmp_path):
    def refuse(path, record):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(records, "write_record", refuse)
    with pytest.raises(UserError, match="its metrics are kept in .*record.json"):
        execute_job(composed("profile=smoke"), tmp_path / "run", overrides=[])
    kept = json.loads((tmp_path / "run" / "record.json").read_text())
    assert kept["status"] == "ok" and "test_acc" in kept["metrics"]


def test_nonexistent_mirror_is_named(cli, monkeypatch):
    monkeypatch.setenv("ICLR_DATA_MIRROR", "/nonexistent/mirror")
    code, _, err = cli("run", "method=gcn", "dataset=citeseer", "paths.data_dir=/nonexistent/data")
    assert code == 2 and "ICLR_DATA_MIRROR=/nonexistent/mirror does not exist" in err


def test_unreachable_source_behaves_like_offline(cli, monkeypatch, tmp_path):
    from iclr.data import store

    monkeypatch.delenv("ICLR_OFFLINE")
    monkeypatch.setenv("ICLR_DATA_MIRROR", str(tmp_path))  # an empty mirror
    monkeypatch.setattr(store, "reachable", lambda url: False)
    code, _, err = cli("run", "method=gcn", "dataset=pubmed", f"paths.data_dir={tmp_path / 'data'}")
    assert code == 2 and "not available offline" in err and "iclr data fetch pubmed" in err


@needs_planetoid
def test_corrupt_processed_cache_is_named_verified_and_repaired(cli, monkeypatch, tmp_path):
    from iclr.data import load_dataset
    from iclr.data.registry import get_source

    monkeypatch.setenv("ICLR_DATA_DIR", str(tmp_path))
    cfg = composed("profile=smoke")
    load_dataset(cfg.dataset, tmp_path, MIRROR)
    folder = tmp_path / get_source("cora").folder
    cache = next(p for p in folder.rglob("*.pt"))
    cache.write_bytes(b"garbage" * 10)
    with pytest.raises(
        UserError, match=r"cache file .*\.pt is corrupt; run `iclr data fetch cora`"
    ):
        load_dataset(cfg.dataset, tmp_path, MIRROR)
    code, out, err = cli("data", "verify", "cora")
    assert code == 1 and "corrupt" in out
    code, out, _ = cli("data", "fetch", "cora")
    assert code == 0 and "repaired" in out
    assert load_dataset(cfg.dataset, tmp_path, MIRROR).num_nodes == 2708


@needs_planetoid
def test_same_size_change_to_a_raw_file_is_flagged_and_fetch_repairs_it(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("ICLR_DATA_DIR", str(tmp_path))
    assert cli("data", "fetch", "cora")[0] == 0
    raw = tmp_path / "planetoid/Cora/raw/ind.cora.y"
    data = bytearray(raw.read_bytes())
    data[-1] ^= 1
    raw.write_bytes(bytes(data))
    assert cli("data", "verify", "cora")[0] == 1
    code, out, _ = cli("data", "fetch", "cora")
    assert code == 0 and "repaired raw/ind.cora.y" in out
    assert cli("data", "verify", "cora")[0] == 0


def test_unreadable_records_are_warned_about_once_each_and_never_crash(cli, iclr_env):
    store = iclr_env / "results" / "gcn" / "cora" / "k"
    store.mkdir(parents=True)
    (store / "seed=0.json").write_text('{"status": "ok", "metr')
    (store / "seed=1.json").write_text(json.dumps({"status": "ok", "metrics": "high"}))
    good = records.Record("gcn", "cora", 2, "k", "ok", "test_acc", metrics={"test_acc": 0.8})
    records.write_record(store / "seed=2.json", good)
    code, out, err = cli("results", "--format", "csv")
    assert code == 0 and err.count("skipped unreadable record") == 2
    assert "seed=0.json: not valid JSON" in err and "seed=1.json" in err
    assert out.strip().splitlines()[1].split(",")[5:8] == ["0.8", "0", "1"]


@needs_planetoid
def test_a_job_held_by_another_process_is_waited_for_not_trained_twice(tmp_path, iclr_env):
    cfg = composed("profile=smoke")
    config = resolve_config(cfg)
    path = records.record_path(iclr_env / "results", "gcn", "cora", records.cell_key(config), 0)
    made = records.Record(
        "gcn", "cora", 0, records.cell_key(config), "ok", "test_acc", metrics={"test_acc": 0.5}
    )
    made.code = records.code_version("iclr.methods.baselines.node_classification:run")

    def other_process() -> None:
        with records.record_lock(path):
            time.sleep(1.0)
            records.write_record(path, made)

    thread = threading.Thread(target=other_process)
    thread.start()
    time.sleep(0.2)
    outcome = execute_job(cfg, tmp_path / "run", overrides=[])
    thread.join()
    assert outcome.state == "cached" and outcome.record.value == 0.5


def test_results_metric_and_seed_mistakes_are_errors(cli, iclr_env):
    store = iclr_env / "results" / "gcn" / "cora" / "k"
    good = records.Record("gcn", "cora", 0, "k", "ok", "test_acc", metrics={"test_acc": 0.8})
    records.write_record(store / "seed=0.json", good)
    code, out, err = cli("results", "--metric", "nosuch")
    assert code == 2 and "no record has metric 'nosuch'; these have: test_acc" in err
    code, out, _ = cli("results", "--format", "md")
    assert "| 0.8000 (1) |" in out and "± 0.0000" not in out  # one seed: no spread to show
    code, _, err = cli("table", "baselines/planetoid", "--seeds", "")
    assert code == 2 and "--seeds is empty" in err


@needs_planetoid
def test_a_run_logs_plots_its_curves_and_a_cached_rerun_leaves_no_empty_folder(cli, iclr_env):
    assert cli("run", "method=gcn", "dataset=cora", "profile=smoke")[0] == 0
    (run,) = list((iclr_env / "runs").glob("*/*"))
    assert (run / "learning_curves.png").stat().st_size > 1000
    log = (run / "hydra_app.log").read_text()
    assert "gcn on cora, seed 0" in log and "ok: test_acc =" in log
    code, out, _ = cli("run", "method=gcn", "dataset=cora", "profile=smoke")
    assert code == 0 and "cached" in out and f"run folder {run} (the run that made" in out
    assert list((iclr_env / "runs").glob("*/*")) == [run]


def test_progress_without_a_terminal_logs_lines(caplog):
    import logging

    from iclr.methods.common.progress import epoch_progress

    with caplog.at_level(logging.INFO, logger="iclr"), epoch_progress(3, "demo") as advance:
        for _ in range(3):
            advance(loss=1.0)
    assert "demo: 3/3 loss 1.0000" in caplog.text


def test_a_dataset_its_loader_fetches_online_is_unavailable_offline(tmp_path):
    from iclr.data.registry import DatasetSource
    from iclr.data.store import availability

    online = DatasetSource("web", "s", "m:f", "web", "gluonts", "l", (), online=True)
    generated = DatasetSource("gen", "s", "m:f", "gen", "ours", "l", ())
    assert availability(online, tmp_path, None) == "unavailable"  # tests run with ICLR_OFFLINE
    assert availability(generated, tmp_path, None) == "local"
