"""Cold Brew end to end on real Cora: the protocol's graph and masks, and every method learns."""

from __future__ import annotations

import pytest
import torch

from helpers import composed, needs_planetoid
from iclr.cli.job import execute_job
from iclr.methods.common.node_task import load_node_task

SHORT = ("method.epochs=150", "method.patience=30")
SHORT_COLDBREW = (
    "method.teacher.epochs=150",
    "method.teacher.patience=30",
    "method.student.epochs=150",
    "method.student.patience=30",
    "method.student.part1.epochs=150",
    "method.student.part1.patience=30",
)


@needs_planetoid
@pytest.mark.parametrize("rule", ["paper", "repo"])
def test_protocol_removes_isolated_edges_and_evaluates_the_rest(rule):
    task = load_node_task(composed("method=gcn_se", f"split.rule={rule}"))
    src, dst = task.edge_index
    isolated = task.groups["isolation"]
    assert not isolated[src].any() and not isolated[dst].any()
    train, val, test = task.masks["train"], task.masks["val"], task.masks["test"]
    assert train.sum() == 600 and val.sum() == 500
    assert torch.equal(test, ~(train | val))
    assert task.stats["removed_edges"] > 0 and 0.8 < task.stats["homophily"] < 0.85


@needs_planetoid
@pytest.mark.parametrize(
    ("method", "overrides", "floor"),
    [
        ("coldbrew", SHORT_COLDBREW, 0.6),
        ("gcn_se", SHORT, 0.75),
        ("gcn_se", (*SHORT, "method.se_layers=none"), 0.75),
        ("graphmlp", ("method.epochs=60",), 0.5),
        ("label_prop", (), 0.6),
    ],
)
def test_coldbrew_methods_learn_on_cora(method, overrides, floor, tmp_path):
    cfg = composed(f"method={method}", *overrides)
    outcome = execute_job(cfg, tmp_path, overrides=[])
    assert outcome.state == "done", outcome.record.error
    metrics = outcome.record.metrics
    # majority class on Cora is ~30%: every method must be far above it overall
    assert metrics["test_acc"] > floor
    assert {"acc_head", "acc_tail", "acc_isolation", "size_isolation"} <= set(metrics)
    if method == "coldbrew":
        assert metrics["teacher_test_acc"] > 0.75


@needs_planetoid
@pytest.mark.slow
def test_student_beats_simple_mlp_on_isolated_cora_nodes(tmp_path):
    """The paper's central comparison at full settings, 3 seeds (slow: about 2 minutes)."""
    mlp = (
        "method=mlp",
        "split=coldbrew",
        "method.layers=3",
        "method.hidden=128",
        "method.lr=0.001",
        "method.epochs=1500",
        "method.patience=100",
    )
    means = {}
    for name, overrides in (("student", ("method=coldbrew",)), ("mlp", mlp)):
        values = []
        for seed in range(3):
            outcome = execute_job(
                composed(*overrides, f"seed={seed}"), tmp_path / f"{name}{seed}", overrides=[]
            )
            values.append(outcome.record.metrics["acc_isolation"])
        means[name] = sum(values) / len(values)
    assert means["student"] > means["mlp"], means


@needs_planetoid
def test_strict_cold_start_keeps_isolated_edges_in_training_only():
    task = load_node_task(composed("method=gcn_se", "+split.isolate=test"))
    isolated = task.groups["isolation"]
    train_src, _ = task.train_edge_index
    eval_src, _ = task.edge_index
    assert isolated[train_src].any() and not isolated[eval_src].any()
    train_adj, eval_adj = task.propagation("gcn")
    assert train_adj.values().numel() > eval_adj.values().numel()
    default = load_node_task(composed("method=gcn_se"))
    assert default.train_edge_index is None
