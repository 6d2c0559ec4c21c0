"""Implicit-feedback event logs for RIM (Ma et al., ICLR 2022): one table of
``USER_ID, ITEM_ID, TIMESTAMP`` (seconds) per dataset, every rating or click taken as an event.

The protocol (which events are history, which are targets) lives in ``iclr.methods.rim.protocol``;
loaders only parse the official files. Dataset-specific filters that the official preparation
scripts apply before the protocol (Netflix's date window and user sampling, Yoochoose's session
sampling and minimum counts) are done here, from ``dataset_cfg``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

COLUMNS = ["USER_ID", "ITEM_ID", "TIMESTAMP"]


def _events(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame[COLUMNS].copy()
    frame["TIMESTAMP"] = frame["TIMESTAMP"].astype(np.float64)
    return frame.reset_index(drop=True)


def _seconds(dates: pd.Series) -> np.ndarray:
    """Unix seconds of date strings, whatever resolution pandas infers."""
    stamps = pd.to_datetime(dates, utc=True)
    return ((stamps - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)).to_numpy(np.float64)


def load_movielens_csv(dataset_cfg: Any, folder: Path) -> pd.DataFrame:
    """MovieLens ``ratings.csv`` (userId, movieId, rating, timestamp), e.g. ml-latest-small."""
    frame = pd.read_csv(folder / "ratings.csv")
    return _events(
        frame.rename(columns={"userId": "USER_ID", "movieId": "ITEM_ID", "timestamp": "TIMESTAMP"})
    )


def load_movielens_dat(dataset_cfg: Any, folder: Path) -> pd.DataFrame:
    """MovieLens 1M ``ratings.dat`` (``UserID::MovieID::Rating::Timestamp``), as the official
    ``prepare_ml_1m_data`` reads it."""
    frame = pd.read_csv(
        folder / "ratings.dat",
        sep="::",
        engine="python",
        names=["USER_ID", "ITEM_ID", "_", "TIMESTAMP"],
    )
    return _events(frame)


def load_netflix(dataset_cfg: Any, folder: Path) -> pd.DataFrame:
    """Netflix Prize ``combined_data_{1..4}.txt`` (``MovieID:`` header lines, then
    ``CustomerID,Rating,Date`` rows), restricted as in the official ``prepare_netflix_data``:
    events from ``train_begin`` to ``test_end`` and users with ``id % user_mod == 0``."""
    frames = []
    for name in dataset_cfg.files:
        raw = pd.read_csv(folder / name, header=None, names=["USER_ID", "_", "DATE"])
        header = raw["_"].isna()
        movie = raw["USER_ID"].where(header).str.rstrip(":").ffill().astype(np.int64)
        rows = raw[~header]
        frames.append(
            pd.DataFrame(
                {
                    "USER_ID": rows["USER_ID"].astype(np.int64).to_numpy(),
                    "ITEM_ID": movie[~header].to_numpy(),
                    "TIMESTAMP": _seconds(rows["DATE"]),
                }
            )
        )
    frame = pd.concat(frames, ignore_index=True)
    begin = pd.Timestamp(dataset_cfg.protocol.train_begin).timestamp()
    end = pd.Timestamp(dataset_cfg.protocol.test_end).timestamp()
    keep = (
        (frame["TIMESTAMP"] >= begin)
        & (frame["TIMESTAMP"] < end)
        & (frame["USER_ID"] % int(dataset_cfg.user_mod) == 0)
    )
    return _events(frame[keep])


def load_yoochoose(dataset_cfg: Any, folder: Path) -> pd.DataFrame:
    """RecSys Challenge 2015 ``yoochoose-clicks.dat`` (session, ISO time, item, category); a
    session is a user. As in the official ``prepare_yoochoose_data``: repeated (session, item)
    pairs dropped, a ``user_sample_frac`` sample of sessions (seeded), then at least
    ``min_user_len`` events per session and ``min_item_len`` per item."""
    frame = pd.read_csv(
        folder / "yoochoose-clicks.dat",
        header=None,
        names=["USER_ID", "TIME", "ITEM_ID", "_"],
        usecols=[0, 1, 2],
        dtype={0: np.int64, 1: str, 2: np.int64},
    )
    frame["TIMESTAMP"] = _seconds(frame["TIME"])
    frame = frame.sort_values("TIMESTAMP", kind="mergesort").drop_duplicates(["USER_ID", "ITEM_ID"])
    sizes = frame.groupby("USER_ID").size()
    sample = sizes.sample(frac=float(dataset_cfg.user_sample_frac), random_state=10).index
    frame = frame[frame["USER_ID"].isin(sample)]
    users = frame.groupby("USER_ID").size()
    items = frame.groupby("ITEM_ID").size()
    frame = frame[
        frame["USER_ID"].isin(users[users >= int(dataset_cfg.min_user_len)].index)
        & frame["ITEM_ID"].isin(items[items >= int(dataset_cfg.min_item_len)].index)
    ]
    return _events(frame)
