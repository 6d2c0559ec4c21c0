"""DIVA end to end on real offline data: splits, learning, mislabel detection, SICK, errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from helpers import composed, mirror_has
from iclr.cli.errors import UserError
from iclr.cli.job import execute_job
from iclr.methods.diva.pipeline import run
from iclr.methods.diva.tasks import load_task


def diva(*overrides: str):
    return composed("method=diva", *overrides)


def metrics_of(cfg, tmp_path: Path) -> dict[str, float]:
    outcome = execute_job(cfg, tmp_path, overrides=[])
    assert outcome.state == "done", outcome.record.error
    return outcome.record.metrics


def test_image_split_holds_out_test_and_pretrain_rows():
    task = load_task(
        diva("dataset=digits", "backbone@dataset.backbone=cnn", "dataset.backbone.epochs=2")
    )
    rows = task.rows
    assert len(rows["test"]) == 497 and len(rows["pretrain"]) == 300
    every = torch.cat([rows["test"], rows["pretrain"], rows["train"]])
    assert len(every) == 1797 and every.unique().numel() == 1797  # disjoint and complete
    assert task.z_train.shape == (1000, 257) and task.z_train.dtype == torch.float64
    assert (task.z_train[:, -1] == 1).all()  # bias column


def test_reweight_learns_and_records_every_step(tmp_path):
    metrics = metrics_of(diva("dataset=digits"), tmp_path)
    assert metrics["test_error_step0"] < 0.1  # chance is 0.9
    assert metrics["objective_step3"] < metrics["objective_step0"]  # steps descend L_LOO
    assert metrics["test_error"] == metrics["test_error_step3"]


def test_loo_gradient_detects_planted_label_noise(tmp_path):
    metrics = metrics_of(diva("dataset=digits", "method.procedure=mislabel"), tmp_path)
    # Chance: AUC 0.5; flagging at random gives F1 ≤ 0.33 with 20% flipped labels.
    assert metrics["auc"] > 0.9 and metrics["f1"] > 0.5
    assert metrics["test_error_flagged_removed"] < metrics["test_error"]
    assert list(tmp_path.glob("**/mislabel_gradients.png"))


def test_extend_writes_curves_against_uniform_sampling(tmp_path):
    cfg = diva(
        "dataset=digits",
        "method.procedure=extend",
        "method.extend.core=200",
        "method.extend.pool=300",
        "method.lam=0.1",
    )
    metrics = run(cfg, tmp_path, torch.device("cpu"))
    lines = (tmp_path / "extend.csv").read_text().splitlines()
    assert lines[0] == "added,diva,uniform" and len(lines) > 2
    assert 0 < metrics["n_added"] <= 300 and (tmp_path / "extend.png").is_file()
    assert metrics["test_error"] < metrics["test_error_core"]


@pytest.mark.skipif(not mirror_has("sick"), reason="SICK not in the mirror")
def test_sick_entailment_on_minilm_features_beats_the_majority_class(tmp_path):
    cfg = diva("dataset=sick", "dataset.max_pairs=300", "method.reweight.steps=1")
    metrics = run(cfg, tmp_path, torch.device("cpu"))
    # NEUTRAL is ~57% of SICK's test pairs: the majority-class error is ~0.43.
    assert metrics["test_error"] < 0.35 and metrics["feature_dim"] == 4 * 384 + 1


def test_bad_procedure_is_rejected_by_the_schema(cli):
    code, _, err = cli("run", "method=diva", "dataset=digits", "method.procedure=nope")
    assert code == 2 and "method.procedure='nope': choose one of reweight" in err


@pytest.mark.skipif(not mirror_has("sick"), reason="SICK not in the mirror")
def test_augment_on_text_is_a_user_error(tmp_path):
    cfg = diva("dataset=sick", "dataset.max_pairs=20", "method.procedure=augment")
    with pytest.raises(UserError, match="image dataset"):
        run(cfg, tmp_path, torch.device("cpu"))


def test_bundled_datasets_come_from_their_python_package(tmp_path):
    from iclr.data.registry import get_source
    from iclr.data.store import availability

    assert availability(get_source("mnist5k"), tmp_path, None) == "package"
    task = load_task(
        diva("dataset=mnist5k", "dataset.backbone.width=64", f"paths.data_dir={tmp_path}")
    )
    assert task.z_train.shape == (3000, 65) and task.labels_test.bincount().min() > 50


@pytest.mark.parametrize("table", ["table1", "mislabel", "extend"])
def test_diva_table_specs_parse_with_distinct_rows(table):
    from iclr.cli.tables import load_spec

    spec = load_spec(f"diva/{table}")
    names = [row.name for row in spec.rows]
    assert len(set(names)) == len(names)  # a YAML comma in a flow-style name would merge rows
    assert spec.note and "different datasets" in spec.note
