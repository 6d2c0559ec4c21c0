"""DG-15's λ / learning-rate choice for GRDA, made without target labels (issue 18).

Candidates and criterion are the table ``grda/dg15_select`` (conf/tables/grda/dg15_select.yaml):
each column is a candidate run with the selection seeds; the choice is the candidate with the
highest mean fresh graph-discriminator loss (``adv_loss_fresh``, computed on the final encodings
of every domain without labels) among those whose mean source accuracy is at least
``MIN_SOURCE_ACC``. Target accuracy is never read. ::

    iclr table grda/dg15_select              # the candidate runs (selection seeds)
    python -m iclr.methods.grda.selection    # prints the choice

The chosen values are the ones in ``conf/method_dataset/grda_dg15.yaml``.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence

TABLE = "grda/dg15_select"
CRITERION, CONSTRAINT = "adv_loss_fresh", "source_acc"
MIN_SOURCE_ACC = 0.99


def choose(candidates: Mapping[str, Mapping[str, Sequence[float]]]) -> str:
    """The candidate with the highest mean ``CRITERION`` among those whose mean ``CONSTRAINT``
    reaches ``MIN_SOURCE_ACC``; ``candidates`` maps a name to its per-seed metric values."""

    def mean(values: Sequence[float]) -> float:
        return sum(values) / len(values)

    admissible = {
        name: mean(metrics[CRITERION])
        for name, metrics in candidates.items()
        if metrics[CRITERION] and mean(metrics[CONSTRAINT]) >= MIN_SOURCE_ACC
    }
    if not admissible:
        from iclr.cli.errors import UserError

        raise UserError(f"no candidate of {TABLE} has runs with source accuracy ≥ {MIN_SOURCE_ACC}")
    return max(admissible, key=admissible.__getitem__)


def candidate_metrics() -> dict[str, dict[str, list[float]]]:
    """Per-seed criterion and constraint of every column of ``TABLE``, from the run records."""
    from iclr.cli import tables

    spec = tables.load_spec(TABLE)
    cells = tables.plan(spec, spec.seeds)
    tables.collect(cells, spec, spec.seeds)
    found: dict[str, dict[str, list[float]]] = {c.name: {} for c in spec.cols}
    for cell in cells:
        if cell.metric in (CRITERION, CONSTRAINT):
            found[cell.col.name][cell.metric] = [cell.values[s] for s in sorted(cell.values)]
    return found


def main() -> None:
    candidates = candidate_metrics()
    for name, metrics in candidates.items():
        values = metrics.get(CRITERION, [])
        print(f"{name}: {CRITERION} {values}, {CONSTRAINT} {metrics.get(CONSTRAINT, [])}")
    print(f"chosen: {choose(candidates)}")


if __name__ == "__main__":
    sys.exit(main())
