"""Trans-Encoder data: the label-free transductive pool and the seven test sets (real files)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from helpers import MIRROR, mirror_has
from iclr.cli.errors import UserError
from iclr.methods.transencoder import data

pytestmark = pytest.mark.skipif(
    not (mirror_has("sts-senteval") and mirror_has("sick")), reason="STS / SICK mirror missing"
)


@pytest.fixture(scope="module")
def raw():
    sts = data.load(OmegaConf.create({}), MIRROR / "sts-senteval")
    return sts, data.load_sick(None, MIRROR / "sick")


def test_pool_has_no_labels_no_duplicates_and_covers_every_set(raw):
    pool = data.build_pool(data.pool_sources(*raw))
    assert [f.name for f in dataclasses.fields(pool)] == ["s1", "s2", "source"]
    keys = {(a, b) if a <= b else (b, a) for a, b in pool.pairs()}
    assert len(keys) == len(pool) == 30418  # 31,099 raw pairs; reversed repeats count once
    assert set(pool.source) == set(data.TEST_SETS)
    tests = data.test_sets(*raw)
    for name, test in tests.items():  # transductive: every test pair is in the pool
        in_pool = {(a, b) if a <= b else (b, a) for a, b in zip(test.s1, test.s2, strict=True)}
        assert in_pool <= keys, name


def test_pool_never_reads_the_gold_scores(raw):
    sources = data.pool_sources(*raw)
    blanked = {
        k: [dataclasses.replace(p, score=(float("nan"),) * len(p)) for p in v]
        for k, v in sources.items()
    }
    assert data.build_pool(blanked) == data.build_pool(sources)
    assert data.build_pool(blanked, size=300, seed=3) == data.build_pool(sources, size=300, seed=3)


def test_subsampled_pool_is_stratified_exact_and_seeded(raw):
    sources = data.pool_sources(*raw)
    small = data.build_pool(sources, size=50, seed=1)
    assert len(small) == 50 and set(small.source) == set(data.TEST_SETS)
    assert small == data.build_pool(sources, size=50, seed=1)
    assert small != data.build_pool(sources, size=50, seed=2)


def test_test_sets_have_the_official_sizes(raw):
    sizes = {k: len(v) for k, v in data.test_sets(*raw).items()}
    assert sizes == {
        "sts12": 3108,
        "sts13": 1500,
        "sts14": 3750,
        "sts15": 3000,
        "sts16": 1186,
        "stsb": 1379,
        "sickr": 4927,
    }
    dev = data.dev_set(raw[0])
    assert len(dev) == 1500 and len(data.dev_set(raw[0], 100)) == 100
    assert all(0 <= g <= 5 for g in dev.gold)


def test_missing_data_is_a_one_line_error(tmp_path: Path):
    from helpers import composed
    from iclr.methods.transencoder.pipeline import load_raw

    cfg = composed("method=transencoder", "dataset=sts_sickr", "paths.mirror=null")
    cfg.paths.data_dir = str(tmp_path / "empty")
    with pytest.raises(UserError, match="sts_sickr"):
        load_raw(cfg.dataset, cfg)
