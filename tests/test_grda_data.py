"""GRDA data: the official DG-15 and TPT-48 files through the loaders, and the seeded generator."""

from __future__ import annotations

import numpy as np
import pytest
from omegaconf import OmegaConf

from helpers import MIRROR, REPO, needs_grda_data
from iclr.methods.grda.datasets.domain_graph import graph_levels
from iclr.methods.grda.datasets.toy import generate_spiral


def dataset_cfg(name: str):
    return OmegaConf.load(REPO / "conf" / "dataset" / f"{name}.yaml")


def load(name: str, data_root):
    from iclr.data import load_dataset

    return load_dataset(dataset_cfg(name), data_root, MIRROR)


@needs_grda_data
def test_dg15_official_file(data_root):
    data = load("dg15", data_root)
    assert data.x.shape == (1500, 2) and data.g_encode.shape == (15, 2)
    assert data.adjacency.sum() / 2 == 56 and (data.adjacency == data.adjacency.T).all()
    assert sorted(data.sources) == [0, 3, 4, 8, 12, 14] and len(data.targets) == 9
    np.testing.assert_allclose(data.x.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(data.x.std(0), 1, atol=1e-4)
    assert np.bincount(data.domain).tolist() == [100] * 15


@needs_grda_data
def test_tpt48_splits_and_windows(data_root):
    n2s, e2w = load("tpt48_n2s", data_root), load("tpt48_e2w", data_root)
    for data in (n2s, e2w):
        assert data.num_domains == 48 and data.adjacency.sum() / 2 == 105  # DC edges dropped
        counts = np.bincount(data.domain, minlength=48)
        # sources: every sliding 12-month window of 144 months; targets: 12 disjoint years
        assert set(counts[data.sources]) == {133} and set(counts[data.targets]) == {12}
        assert data.x.shape[1] == data.y.shape[1] == 6
    levels = lambda d: np.bincount(np.minimum(d.levels[d.targets], 3))[1:].tolist()  # noqa: E731
    assert levels(n2s) == [10, 6, 8]  # the paper's Table 2 group sizes
    assert levels(e2w) == [6, 7, 11]  # our derived split (paper: 8/7/9)
    east = {n2s.domain_names[i] for i in e2w.sources}
    assert {"ME", "FL", "NY"} <= east and not {"CA", "TX", "WA"} & east


def test_graph_levels_match_brute_force_shortest_paths():
    from scipy.sparse.csgraph import shortest_path

    rng = np.random.default_rng(0)
    upper = np.triu(rng.uniform(size=(30, 30)) < 0.08, 1)
    adjacency = (upper | upper.T).astype(float)
    sources = [0, 7, 11]
    dist = shortest_path(adjacency, unweighted=True)[sources].min(0)
    expected = np.where(np.isinf(dist), -1, dist).astype(int)
    assert graph_levels(adjacency, sources).tolist() == expected.tolist()


def test_generator_follows_the_published_procedure():
    raw = generate_spiral(num_domains=12, seed=3)
    again = generate_spiral(num_domains=12, seed=3)
    assert all(np.array_equal(raw[k], again[k]) for k in raw)  # seeded
    assert not np.array_equal(raw["A"], generate_spiral(num_domains=12, seed=4)["A"])
    angle, x, label, domain = raw["angle"], raw["data"], raw["label"], raw["domain"]
    assert np.bincount(domain).tolist() == [100] * 12
    assert np.bincount(label).tolist() == [600, 600]
    # every point lies within distance 1 of its class centre ±r(cos a, sin a)
    radius = 1 + 6 * angle / (2 * np.pi)
    centre = radius[:, None] * np.stack([np.cos(angle), np.sin(angle)], 1)
    sign = np.where(label == 0, 1.0, -1.0)[:, None]
    assert (np.linalg.norm(x - sign * centre[domain], axis=1) <= 1 + 1e-9).all()
    cos = np.cos(angle[:, None] - angle[None, :])
    a = raw["A"]
    assert (a == a.T).all() and (np.diag(a) == 0).all()
    assert (cos[a > 0] >= 0.2).all() and a.sum() > 0


def test_g_encode_on_a_dataset_without_it_is_a_clear_error():
    from iclr.cli.errors import UserError
    from iclr.methods.grda.domain_input import DomainInput

    with pytest.raises(UserError, match="domain_input=learned"):
        DomainInput("g_encode", 5, None)
    # an unknown mode never gets here: the schema refuses it (test_grda_methods.py)
