"""RIM's official protocol: history, targets and test users, on toy and on real data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers import composed, mirror_has
from iclr.methods.rim.data import load_splits
from iclr.methods.rim.protocol import create_dataset, prepare_events, reindex_items


def toy_events() -> pd.DataFrame:
    # user 10: items 1,2 before T=5, item 3 in [5, 7), item 4 after; user 20: only future events
    return pd.DataFrame(
        {
            "USER_ID": [10, 10, 10, 10, 20, 20],
            "ITEM_ID": [1, 2, 3, 4, 1, 3],
            "TIMESTAMP": [1.0, 2.0, 5.5, 9.0, 6.0, 6.5],
        }
    )


def test_create_dataset_splits_history_targets_and_filters():
    events = prepare_events(toy_events(), seed=0, second_half_only=False)
    split = create_dataset(events, np.array([5.0, 5.0]), horizon=2.0, exclude_train=False)
    assert events.user_ids[split.users].tolist() == [10]  # user 20 has no history
    assert events.item_ids[split.items].tolist() == [1, 2]  # item 3 has no training event
    assert split.hist_items[0].tolist() == [0, 1] and split.hist_times[0].tolist() == [1.0, 2.0]
    assert split.target.sum() == 0  # item 3 is not a test item, item 4 is after T + H
    split = create_dataset(events, np.array([5.0, 0.0]), horizon=2.0, exclude_train=False)
    # user 20 with T=0: every event is past T + H, so none is training and item 3 stays out
    assert split.train_items.lengths.tolist() == [2, 0]


def test_exclude_train_removes_seen_pairs_from_targets():
    frame = pd.DataFrame(
        {"USER_ID": [1, 1, 1, 2], "ITEM_ID": [5, 6, 5, 6], "TIMESTAMP": [1.0, 2.0, 3.0, 1.0]}
    )
    events = prepare_events(frame, seed=0, second_half_only=False)
    test_start = np.array([2.5, np.inf])
    kept = create_dataset(events, test_start, 5.0, exclude_train=False)
    dropped = create_dataset(events, test_start, 5.0, exclude_train=True)
    assert kept.target.sum() == 1 and dropped.target.sum() == 0
    assert dropped.exclude.toarray().tolist() == [[1.0, 1.0]]


def test_user_split_on_real_data_holds_out_the_right_users_and_events():
    if not mirror_has("movielens-latest-small"):
        pytest.skip("ml-latest-small not in the mirror")
    cfg = composed("method=rim", "dataset=ml-latest-small")
    d, v = load_splits(cfg)
    assert not set(d.users) & set(v.users)  # V swaps the roles of the two user groups
    assert 300 < len(d.users) < 371 and d.top_c == int(np.ceil(len(d.users) / 100))
    assert d.topk == int(np.ceil(len(d.items) / 100))
    # history strictly before T, every test item has a training event, no seen pair is a target
    last = d.hist_times.values[d.hist_times.offsets[1:] - 1]
    assert (last < d.test_start).all()
    assert (d.item_hist_len >= 1).all()
    assert d.target.multiply(d.exclude).sum() == 0 and d.target.sum() > 0
    # D's targets lie in [T, T + H): the horizon is the median span of the second halves
    assert d.horizon == v.horizon > 0
    moved = reindex_items(v, d.items)
    assert moved.target.shape == (len(v.users), len(d.items))
    assert moved.target.sum() <= v.target.sum()
