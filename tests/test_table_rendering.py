"""Golden files: a table rendered from checked-in fixture records (Markdown and CSV)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from iclr.cli import tables
from iclr.cli.errors import UserError
from iclr.cli.render import to_csv, to_latex, to_markdown

HERE = Path(__file__).parent
KEYS = {
    ("GCN", "Cora"): ("gcn", "cora", "k-gcn-cora"),
    ("GCN", "CiteSeer"): ("gcn", "citeseer", "k-gcn-cite"),
    ("MLP", "Cora"): ("mlp", "cora", "k-mlp-cora"),
    ("MLP", "CiteSeer"): ("mlp", "citeseer", "k-mlp-cite"),
}


def fixture_cells(spec: tables.TableSpec) -> list[tables.Cell]:
    """The spec's cells, read from the checked-in fixture store (derived rows left empty)."""
    cells = []
    for row in spec.rows:
        for col in spec.cols:
            if row.derived:
                cells.append(tables.Cell(row, col, [], availability="derived"))
                continue
            method, dataset, key = KEYS[(row.name, col.name)]
            store = HERE / "fixtures" / "store" / "results"
            cells.append(tables.Cell(row, col, [], method, dataset, key, results=store))
    tables.collect(cells, spec, spec.seeds)
    return cells


@pytest.fixture
def rendered():
    spec = tables.parse_spec("fixture/table", HERE / "fixtures" / "table.yaml")
    cells = fixture_cells(spec)
    return {
        "md": to_markdown(tables.result_grid(cells, spec, 3)),
        "csv": to_csv(tables.csv_grid(cells, spec, 3)),
        "tex": to_latex(tables.result_grid(cells, spec, 3)),
    }


@pytest.mark.parametrize("fmt", ["md", "csv", "tex"])
def test_table_matches_golden_file(rendered, fmt):
    golden = HERE / "golden" / f"table.{fmt}"
    if os.environ.get("ICLR_UPDATE_GOLDEN"):
        golden.write_text(rendered[fmt])
    assert rendered[fmt] == golden.read_text()


def test_statistics_in_golden_csv_are_right(rendered):
    rows = {tuple(line.split(",")[:2]): line.split(",") for line in rendered["csv"].splitlines()}
    gcn = rows[("GCN", "Cora")]
    values = [81.5, 82.3, 80.9]
    mean = sum(values) / 3
    std = (sum((v - mean) ** 2 for v in values) / 2) ** 0.5
    assert float(gcn[2]) == pytest.approx(mean, abs=1e-3)
    assert float(gcn[3]) == pytest.approx(std, abs=1e-3)
    assert gcn[4] == "3" and gcn[7] == "✓"
    assert rows[("GCN", "CiteSeer")][7] == "✓ (2/3 seeds)"
    assert rows[("MLP", "CiteSeer")][7] == "failed (1)"
    assert rows[("MLP", "Cora")][7] == "✗"


def test_derived_row_is_computed_seed_by_seed(tmp_path):
    spec_path = tmp_path / "derived.yaml"
    text = (HERE / "fixtures" / "table.yaml").read_text()
    text = text.replace(
        "  - {name: MLP, overrides: [method=mlp]}\n",
        "  - {name: MLP, overrides: [method=mlp]}\n"
        "  - {name: GAP, derived: {function: 'operator:sub', inputs: [GCN, MLP]}}\n",
    )
    spec_path.write_text(text)
    spec = tables.parse_spec("fixture/derived", spec_path)
    cells = fixture_cells(spec)
    gap = next(c for c in cells if c.row.name == "GAP" and c.col.name == "Cora")
    gaps = [81.5 - 57.1, 82.3 - 59.0, 80.9 - 58.3]
    assert gap.stat.n == 3
    assert gap.stat.mean == pytest.approx(sum(gaps) / 3)
    # no seed has both inputs on CiteSeer (MLP failed): the derived cell stays empty
    assert next(c for c in cells if c.row.name == "GAP" and c.col.name == "CiteSeer").stat is None


def test_cells_sharing_a_config_run_once():
    row_a = tables.Axis("iso", ("method=gcn",), "acc_isolation")
    row_b = tables.Axis("tail", ("method=gcn",), "acc_tail")
    col = tables.Axis("Cora", ("dataset=cora",))
    cells = [
        tables.Cell(
            r, col, ["method=gcn", "dataset=cora"], "gcn", "cora", "k", missing_seeds=[0, 1]
        )
        for r in (row_a, row_b)
    ]
    jobs = tables.jobs_to_run(cells)
    assert sorted(job[-1] for job in jobs) == ["seed=0", "seed=1"]


def test_duplicate_row_names_are_rejected(tmp_path):
    # an unquoted flow-mapping name with a comma ("a, b") would silently merge two rows
    spec_path = tmp_path / "dup.yaml"
    text = (HERE / "fixtures" / "table.yaml").read_text()
    spec_path.write_text(
        text.replace(
            "  - {name: MLP, overrides: [method=mlp]}\n",
            "  - {name: MLP, overrides: [method=mlp]}\n  - {name: MLP, overrides: [method=gcn]}\n",
        )
    )
    with pytest.raises(UserError, match="names must be unique"):
        tables.parse_spec("fixture/dup", spec_path)
