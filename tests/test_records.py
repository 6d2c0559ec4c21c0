"""Records: cell keys, atomic writes, and no complete-looking record after Ctrl-C."""

from __future__ import annotations

import json

import pytest

from helpers import composed, needs_planetoid
from iclr.cli import records
from iclr.cli.job import execute_job


def test_cell_key_ignores_seed_hardware_paths_runner_but_not_hyperparameters():
    base = {
        "method": {"name": "gcn", "lr": 0.01},
        "dataset": {"name": "cora"},
        "seed": 0,
        "hardware": {"threads": 1},
        "paths": {"data_dir": "/a"},
        "runner": {"force": False},
    }
    same = {
        **base,
        "seed": 3,
        "hardware": {"threads": 2},
        "paths": {"data_dir": "/b"},
        "runner": {"force": True},
    }
    other = {**base, "method": {"name": "gcn", "lr": 0.02}}
    assert records.cell_key(base) == records.cell_key(same)
    assert records.cell_key(base) != records.cell_key(other)


def test_write_atomic_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "a" / "seed=0.json"

    def record(value: float) -> records.Record:
        return records.Record("gcn", "cora", 0, "k", "ok", "test_acc", metrics={"test_acc": value})

    records.write_record(path, record(0.5))
    records.write_record(path, record(0.6))
    assert json.loads(path.read_text())["metrics"]["test_acc"] == 0.6
    assert [p.name for p in path.parent.iterdir()] == ["seed=0.json"]


def test_unreadable_record_is_not_done(tmp_path):
    path = tmp_path / "seed=0.json"
    path.write_text('{"status": "ok", "metr')  # a torn write from some other tool
    assert not records.is_done(path)
    assert list(records.iter_records(tmp_path)) == []


def test_interrupted_job_leaves_no_record(monkeypatch, tmp_path, iclr_env):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    import iclr.methods.registry as registry

    monkeypatch.setattr(registry, "load_entrypoint", lambda name: interrupted)
    with pytest.raises(KeyboardInterrupt):
        execute_job(composed(), tmp_path / "run", overrides=[])
    assert not list(iclr_env.glob("results/**/*.json"))


@needs_planetoid
def test_same_seed_gives_identical_metrics(tmp_path, iclr_env):
    cfg = composed("method.epochs=30")
    first = execute_job(cfg, tmp_path / "a", overrides=[], force=True)
    record_a = first.record
    second = execute_job(cfg, tmp_path / "b", overrides=[], force=True)
    record_b = second.record
    drop = {"train_ms_per_epoch"}
    assert {k: v for k, v in record_a.metrics.items() if k not in drop} == {
        k: v for k, v in record_b.metrics.items() if k not in drop
    }
    assert (tmp_path / "a" / "history.csv").read_text().splitlines()[1:] == (
        tmp_path / "b" / "history.csv"
    ).read_text().splitlines()[1:]
