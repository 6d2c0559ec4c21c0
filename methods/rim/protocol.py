"""The official ``rime`` evaluation protocol: which events are history and which are targets.

Follows ``rime/dataset/prepare_ml_1m_data.py`` and ``rime/dataset/base.py``
(``create_user_splits`` / ``create_dataset``) of awslabs/recurrent-intensity-model-experiments:

- events are shuffled (seed) and stable-sorted by time; optionally only each user's second half
  of events is kept (per-user rank pct ≥ 0.5);
- user split: test start ``T = Tmin + test_start_rel`` with ``test_start_rel = horizon`` = the
  median user span; users are split 50/50 at random (seed + 888); group A is training-only
  (T = +∞) in D, group B is tested on [T, T + horizon). V swaps the roles (group B gets T = 0, so
  none of its events enter V);
- time split (Netflix): one test start for every user, V shifted back by its own horizon;
- events before T are history ("training"), events in [T, T + horizon) are targets, later
  events are dropped; test users need ``min_user_len`` history events and test items
  ``min_item_len`` training events ("unbiased" filtering);
- ``exclude_train`` removes already-seen (user, item) pairs from the targets and gives them a
  −1e10 prior score.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from iclr.cli.errors import UserError


@dataclass
class Ragged:
    """Per-row variable-length sequences as one flat array and CSR-style offsets."""

    values: np.ndarray
    offsets: np.ndarray

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def row_ids(self) -> np.ndarray:
        """The row of every flat value."""
        return np.repeat(np.arange(len(self.offsets) - 1), self.lengths)

    def take(self, rows: np.ndarray) -> Ragged:
        """The sub-collection of ``rows`` (in that order), vectorised."""
        lengths = self.lengths[rows]
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        starts = np.repeat(self.offsets[rows] - offsets[:-1], lengths)
        return Ragged(self.values[np.arange(offsets[-1]) + starts], offsets)

    def __getitem__(self, row: int) -> np.ndarray:
        return self.values[self.offsets[row] : self.offsets[row + 1]]


@dataclass
class EvalSplit:
    """One labelled split (D or V): test users × test items with targets and histories.

    Users and items are integer codes into ``Events.user_ids`` / ``Events.item_ids``."""

    users: np.ndarray  # test users (codes)
    items: np.ndarray  # test items (codes)
    test_start: np.ndarray  # T per test user
    horizon: float
    hist_items: Ragged  # per test user, history item codes in time order
    hist_times: Ragged  # per test user, history timestamps
    target: sp.csr_matrix  # test users × test items, 1 = event in [T, T + horizon)
    exclude: sp.csr_matrix | None  # already-seen pairs (exclude_train), else None
    item_hist_len: np.ndarray  # training events per test item
    train_items: Ragged  # every user's history (all users), for fitting item-choice models
    train_times: Ragged  # the same users' history timestamps
    train_test_start: np.ndarray  # every user's T (+inf for training-only users)
    n_items_total: int

    @property
    def user_hist_len(self) -> np.ndarray:
        return self.hist_items.lengths

    @property
    def topk(self) -> int:
        """ItemRec list length: ⌈1% of test items⌉ (``default_item_rec_top_k``)."""
        return int(np.ceil(len(self.items) / 100))

    @property
    def top_c(self) -> int:
        """UserRec list length: ⌈1% of test users⌉ (``default_user_rec_top_c``)."""
        return int(np.ceil(len(self.users) / 100))

    def stats(self, prefix: str = "") -> dict[str, float]:
        """Sizes of the split (as ``Dataset.get_stats`` prints them)."""
        return {
            f"{prefix}test_users": float(len(self.users)),
            f"{prefix}test_items": float(len(self.items)),
            f"{prefix}target_events": float(self.target.sum()),
            f"{prefix}train_events": float(len(self.train_items.values)),
            f"{prefix}topk": float(self.topk),
            f"{prefix}top_c": float(self.top_c),
            f"{prefix}horizon": float(self.horizon),
        }


@dataclass
class Events:
    """An event log encoded as integer codes, sorted by (user, time)."""

    user: np.ndarray
    item: np.ndarray
    time: np.ndarray
    user_ids: np.ndarray
    item_ids: np.ndarray

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)


def prepare_events(frame: pd.DataFrame, seed: int, second_half_only: bool) -> Events:
    """Shuffle (seed), stable-sort by time, keep each user's second half when asked, and encode.

    The shuffle decides the order of same-second events, as in the official preparation."""
    if frame.empty:
        raise UserError("the event log is empty; check the dataset files and filters")
    frame = frame.sample(frac=1, random_state=seed).sort_values("TIMESTAMP", kind="mergesort")
    if second_half_only:
        rank = frame.groupby("USER_ID")["TIMESTAMP"].rank(method="first", pct=True)
        frame = frame[rank >= 0.5]
    user_codes, user_ids = pd.factorize(frame["USER_ID"], sort=True)
    item_codes, item_ids = pd.factorize(frame["ITEM_ID"], sort=True)
    order = np.argsort(user_codes, kind="stable")  # keeps the time order within a user
    return Events(
        user_codes[order].astype(np.int64),
        item_codes[order].astype(np.int64),
        frame["TIMESTAMP"].to_numpy(np.float64)[order],
        np.asarray(user_ids),
        np.asarray(item_ids),
    )


def _ragged(values: np.ndarray, rows: np.ndarray, n_rows: int) -> Ragged:
    """Group ``values`` (already sorted by row) into a Ragged of ``n_rows`` rows."""
    counts = np.bincount(rows, minlength=n_rows)
    return Ragged(values, np.concatenate([[0], np.cumsum(counts)]))


def create_dataset(
    events: Events,
    test_start: np.ndarray,
    horizon: float,
    min_user_len: int = 1,
    min_item_len: int = 1,
    exclude_train: bool = True,
) -> EvalSplit:
    """Label one split from per-user test start times (``create_dataset`` of ``rime``)."""
    start = test_start[events.user]
    holdout = (events.time >= start).astype(np.int8) + (events.time >= start + horizon)
    train = holdout == 0
    user_hist_len = np.bincount(events.user[train], minlength=events.n_users)
    item_hist_len = np.bincount(events.item[train], minlength=events.n_items)
    test_users = np.flatnonzero((user_hist_len >= min_user_len) & np.isfinite(test_start))
    test_items = np.flatnonzero(item_hist_len >= min_item_len)
    user_pos = np.full(events.n_users, -1)
    user_pos[test_users] = np.arange(len(test_users))
    item_pos = np.full(events.n_items, -1)
    item_pos[test_items] = np.arange(len(test_items))

    def pairs(mask: np.ndarray) -> sp.csr_matrix:
        rows, cols = user_pos[events.user[mask]], item_pos[events.item[mask]]
        keep = (rows >= 0) & (cols >= 0)
        matrix = sp.csr_matrix(
            (np.ones(keep.sum()), (rows[keep], cols[keep])),
            shape=(len(test_users), len(test_items)),
        )
        matrix.data[:] = 1.0  # repeated events count once
        return matrix

    target = pairs(holdout == 1)
    exclude = None
    if exclude_train:
        exclude = pairs(train)
        target = (target - target.multiply(exclude)).tocsr()
        target.eliminate_zeros()
    train_items = _ragged(events.item[train], events.user[train], events.n_users)
    train_times = _ragged(events.time[train], events.user[train], events.n_users)
    return EvalSplit(
        users=test_users,
        items=test_items,
        test_start=test_start[test_users],
        horizon=float(horizon),
        hist_items=train_items.take(test_users),
        hist_times=train_times.take(test_users),
        target=target,
        exclude=exclude,
        item_hist_len=item_hist_len[test_items].astype(np.float64),
        train_items=train_items,
        train_times=train_times,
        train_test_start=test_start,
        n_items_total=events.n_items,
    )


def user_split(
    events: Events, seed: int, exclude_train: bool, min_user_len: int = 1, min_item_len: int = 1
) -> tuple[EvalSplit, EvalSplit]:
    """(D, V) of ``create_user_splits``: relative test start = horizon = median user span."""
    first = np.full(events.n_users, np.inf)
    last = np.full(events.n_users, -np.inf)
    np.minimum.at(first, events.user, events.time)
    np.maximum.at(last, events.user, events.time)
    horizon = float(np.quantile(last - first, 0.5))
    if horizon <= 0:
        raise UserError("median user span is 0: the user-split protocol needs timed histories")
    # pandas' sample with the official seed offset, so the split matches ``sample_groupA``.
    users = pd.Series(np.arange(events.n_users), index=events.user_ids)
    group_a = users.index.isin(users.sample(frac=0.5, random_state=seed + 888).index)
    start = first + horizon
    kw = dict(min_user_len=min_user_len, min_item_len=min_item_len, exclude_train=exclude_train)
    d = create_dataset(events, np.where(group_a, np.inf, start), horizon, **kw)
    v = create_dataset(events, np.where(group_a, start, 0.0), horizon, **kw)
    return d, v


def time_split(
    events: Events,
    test_start: float,
    test_end: float,
    valid_start: float,
    exclude_train: bool,
    min_user_len: int = 1,
    min_item_len: int = 1,
) -> tuple[EvalSplit, EvalSplit]:
    """(D, V) of ``split_by_time`` (Netflix): one test window for all users, V just before."""
    kw = dict(min_user_len=min_user_len, min_item_len=min_item_len, exclude_train=exclude_train)
    ones = np.ones(events.n_users)
    d = create_dataset(events, ones * test_start, test_end - test_start, **kw)
    v = create_dataset(events, ones * valid_start, test_start - valid_start, **kw)
    return d, v


def make_splits(frame: pd.DataFrame, protocol: Any, seed: int) -> tuple[EvalSplit, EvalSplit]:
    """Apply ``cfg.dataset.protocol`` to an event table: (test split D, validation split V)."""
    events = prepare_events(frame, seed, bool(protocol.get("second_half_only", False)))
    kw = dict(
        exclude_train=bool(protocol.get("exclude_train", True)),
        min_user_len=int(protocol.get("min_user_len", 1)),
        min_item_len=int(protocol.get("min_item_len", 1)),
    )
    # split is user or time: declared in the dataset's protocol.options, checked by the schema
    if protocol.get("split", "user") == "user":
        return user_split(events, seed, **kw)
    stamp = lambda key: pd.Timestamp(protocol[key]).timestamp()  # noqa: E731
    return time_split(events, stamp("test_start"), stamp("test_end"), stamp("valid_start"), **kw)


def reindex_items(split: EvalSplit, items: np.ndarray) -> EvalSplit:
    """``split`` with its item axis replaced by ``items`` (codes): missing items get no targets
    (``Dataset.reindex(..., axis=1)``; used to score V on D's test items for online matching)."""
    pos = np.full(split.n_items_total, -1)
    pos[split.items] = np.arange(len(split.items))
    cols = pos[items]
    present = cols >= 0

    # A 0/1 selection matrix moves the old item columns to their new positions.
    select = sp.csr_matrix(
        (np.ones(present.sum()), (cols[present], np.flatnonzero(present))),
        shape=(len(split.items), len(items)),
    )

    def move(matrix: sp.csr_matrix | None) -> sp.csr_matrix | None:
        return None if matrix is None else (matrix @ select).tocsr()

    hist = np.zeros(len(items))
    hist[present] = split.item_hist_len[cols[present]]
    return EvalSplit(
        **{
            **split.__dict__,
            "items": items,
            "target": move(split.target),
            "exclude": move(split.exclude),
            "item_hist_len": hist,
        }
    )
