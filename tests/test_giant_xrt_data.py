"""CiteSeer-TAG loads as the SOURCE.md describes, and its stratified split holds what it says."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from helpers import MIRROR, needs_citeseer_tag
from iclr.cli.errors import UserError
from iclr.methods.common.stratified_split import stratified_masks
from iclr.methods.giant_xrt.citeseer_tag import read_text_graph


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


def test_ogbn_arxiv_reader_maps_text_by_paper_id_and_keeps_the_time_split(tmp_path):
    """A 4-node stand-in with OGB's file layout: texts follow nodeidx2paperid, not file order."""
    import gzip
    import zipfile

    from iclr.methods.giant_xrt.ogbn_arxiv import read_text_graph as read_arxiv

    files = {
        "arxiv/raw/edge.csv.gz": "0,1\n2,1\n3,3\n",
        "arxiv/raw/node-label.csv.gz": "5\n0\n2\n5\n",
        "arxiv/mapping/nodeidx2paperid.csv.gz": "node idx,paper id\n0,30\n1,10\n2,20\n3,40\n",
        "arxiv/split/time/train.csv.gz": "0\n1\n",
        "arxiv/split/time/valid.csv.gz": "2\n",
        "arxiv/split/time/test.csv.gz": "3\n",
    }
    with zipfile.ZipFile(tmp_path / "arxiv.zip", "w") as archive:
        for name, text in files.items():
            archive.writestr(name, gzip.compress(text.encode()))
    rows = "10\tT10\tA10\n20\tT20\tA20\n30\tT30\tA30\n40\tT40\tA40\n"
    (tmp_path / "titleabs.tsv.gz").write_bytes(gzip.compress(rows.encode()))
    graph, split = read_arxiv(tmp_path)
    assert graph.texts == ["T30. A30", "T10. A10", "T20. A20", "T40. A40"]
    assert graph.labels.tolist() == [5, 0, 2, 5]
    assert sorted(zip(*graph.edge_index.tolist(), strict=True)) == [(0, 1), (1, 0), (1, 2), (2, 1)]
    assert {k: v.tolist() for k, v in split.items()} == {"train": [0, 1], "val": [2], "test": [3]}
