"""Every table spec plans: plan() composes each cell with the spec's profile and checks method ×
dataset family and the profile's existence for each method, as `iclr table` does before running.

By default each spec is planned on every row (first column) and every column (first runnable
row), so every override, method profile and dataset of the spec is composed at least once; the
full row × column product (~500 Hydra compositions) is the slow test."""

from __future__ import annotations

import dataclasses

import pytest

from iclr.cli.tables import TableSpec, load_spec, plan, table_names


def _planned_labels(spec: TableSpec) -> list[str]:
    cells = plan(spec, spec.seeds[:1])
    return [c.profile_label for c in cells if not c.row.derived]


def test_there_are_table_specs():
    assert table_names(), "no table specs under conf/tables"


@pytest.mark.parametrize("name", table_names())
def test_every_row_and_column_of_a_spec_plans(name):
    spec = load_spec(name)
    first_row = next(r for r in spec.rows if not r.derived)
    every_row = dataclasses.replace(spec, cols=spec.cols[:1])
    every_col = dataclasses.replace(spec, rows=[first_row])
    assert all(_planned_labels(every_row)), name
    assert all(_planned_labels(every_col)), name


@pytest.mark.slow
@pytest.mark.parametrize("name", table_names())
def test_every_cell_of_a_spec_plans(name):
    assert all(_planned_labels(load_spec(name))), name
