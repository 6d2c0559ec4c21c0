"""CiteSeer-TAG loads as the SOURCE.md describes, and its stratified split holds what it says."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from helpers import MIRROR, needs_citeseer_tag
from iclr.cli.errors import UserError
from iclr.data.citeseer_tag import read_text_graph
from iclr.methods.common.stratified_split import stratified_masks


@needs_citeseer_tag
def test_citeseer_tag_matches_its_source_description():
    graph = read_text_graph(MIRROR / "citeseer-tag")
    assert graph.num_nodes == 3186 and len(graph.class_names) == 6
    counts = dict(zip(graph.class_names, np.bincount(graph.labels), strict=True))
    assert counts == {"DB": 685, "IR": 641, "ML": 569, "Agents": 562, "HCI": 490, "AI": 239}
    src, dst = graph.edge_index
    assert src.size == 2 * 4225  # distinct undirected non-self edges, both directions
    assert not np.any(src == dst)
    pairs = set(zip(src.tolist(), dst.tolist(), strict=True))
    assert all((b, a) in pairs for a, b in pairs)  # undirected
    assert (np.bincount(src, minlength=graph.num_nodes) == 0).sum() == 86  # isolated papers


def test_stratified_masks_partition_every_class_in_proportion():
    y = torch.randint(0, 5, (997,), generator=torch.Generator().manual_seed(1))
    masks = stratified_masks(y, [0.6, 0.2, 0.2], seed=3)
    total = masks["train"].int() + masks["val"].int() + masks["test"].int()
    assert torch.equal(total, torch.ones_like(total))  # disjoint and covering
    for c in range(5):
        n = int((y == c).sum())
        assert int(masks["train"][y == c].sum()) == int(0.6 * n)
        assert int(masks["val"][y == c].sum()) == int(0.8 * n) - int(0.6 * n)
    again = stratified_masks(y, [0.6, 0.2, 0.2], seed=3)
    other = stratified_masks(y, [0.6, 0.2, 0.2], seed=4)
    assert torch.equal(masks["test"], again["test"])  # fixed per seed
    assert not torch.equal(masks["test"], other["test"])  # and different across seeds


def test_stratified_masks_reject_bad_fractions():
    with pytest.raises(UserError, match="split_fractions"):
        stratified_masks(torch.zeros(10, dtype=torch.long), [0.7, 0.2, 0.2], seed=0)
