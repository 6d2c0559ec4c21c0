"""Golden files: a table rendered from checked-in fixture records (Markdown and CSV)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from iclr.cli import tables
from iclr.cli.render import to_csv, to_latex, to_markdown

HERE = Path(__file__).parent
KEYS = {
    ("GCN", "Cora"): ("gcn", "cora", "k-gcn-cora"),
    ("GCN", "CiteSeer"): ("gcn", "citeseer", "k-gcn-cite"),
    ("MLP", "Cora"): ("mlp", "cora", "k-mlp-cora"),
    ("MLP", "CiteSeer"): ("mlp", "citeseer", "k-mlp-cite"),
}


@pytest.fixture
def rendered():
    spec = tables.parse_spec("fixture/table", HERE / "fixtures" / "table.yaml")
    cells = []
    for row in spec.rows:
        for col in spec.cols:
            method, dataset, key = KEYS[(row.name, col.name)]
            cells.append(
                tables.Cell(
                    row,
                    col,
                    [],
                    method,
                    dataset,
                    key,
                    results=HERE / "fixtures" / "store" / "results",
                )
            )
    tables.collect(cells, spec, spec.seeds)
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
