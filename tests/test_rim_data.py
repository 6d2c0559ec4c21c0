"""RIM's event-log loaders and table specs: each format parses to USER_ID, ITEM_ID, TIMESTAMP."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from helpers import mirror_has
from iclr.cli.tables import cell_metric, load_spec
from iclr.data import load_dataset
from iclr.methods.rim.recsys import load_movielens_dat, load_netflix


def test_movielens_dat_parses_double_colon_rows(tmp_path):
    (tmp_path / "ratings.dat").write_text("1::1193::5::978300760\n2::661::3::978302109\n")
    frame = load_movielens_dat(None, tmp_path)
    assert frame.to_dict("list") == {
        "USER_ID": [1, 2],
        "ITEM_ID": [1193, 661],
        "TIMESTAMP": [978300760.0, 978302109.0],
    }


def test_netflix_keeps_the_official_window_and_user_sample(tmp_path):
    (tmp_path / "combined_data_1.txt").write_text(
        "1:\n10,3,2005-03-01\n11,4,2005-03-02\n20,1,2004-12-31\n2:\n30,5,2005-06-20\n"
    )
    cfg = OmegaConf.create(
        {
            "files": ["combined_data_1.txt"],
            "user_mod": 10,
            "protocol": {"train_begin": "2005-01-01", "test_end": "2005-06-29"},
        }
    )
    frame = load_netflix(cfg, tmp_path)
    # user 11 is outside the 10% sample, user 20's rating is before the window
    assert frame["USER_ID"].tolist() == [10, 30] and frame["ITEM_ID"].tolist() == [1, 2]


@pytest.mark.skipif(not mirror_has("movielens-latest-small"), reason="no ml-latest-small mirror")
def test_ml_latest_small_is_the_2016_snapshot(data_root):
    cfg = OmegaConf.create({"name": "ml-latest-small"})
    from helpers import MIRROR

    frame = load_dataset(cfg, data_root, MIRROR)
    assert len(frame) == 100_004 and frame["USER_ID"].nunique() == 671


def test_rim_tables_read_one_metric_per_column_from_shared_runs():
    spec = load_spec("rim/main")
    row = next(r for r in spec.rows if r.name == "RNN-HP")
    col = next(c for c in spec.cols if c.name == "UserRec prec")
    assert cell_metric(row, col, spec.metric) == "RNN-HP/user_prec"
    rnn = {r.overrides for r in spec.rows if r.name.startswith(("RNN", "Rand", "HP"))}
    assert len(rnn) == 1  # every RNN-run row shares one configuration, hence one run per seed
    matching = load_spec("rim/matching")
    assert {r.overrides for r in matching.rows} == rnn
