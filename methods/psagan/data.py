"""PSA-GAN datasets as panels: M4 hourly and exchange rate from the mirror files, a seeded GluonTS
artificial hourly panel, and GluonTS repository datasets (electricity/solar/traffic) online.

``get_dataset`` downloads, so offline the panels are built from the mirror CSVs, split as
GluonTS does (M4: train + 48-step horizon; exchange rate: 5 rolling windows of 30 business
days). A :class:`Panel` holds NaN-padded arrays so that window sampling is one gather.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from iclr.cli.errors import DataUnavailableError


@dataclass
class Panel:
    """A univariate panel: training series and test series (train + horizon), NaN-padded.

    ``test_ids[j]`` is the training series of test entry ``j`` (rolling windows repeat ids);
    ``offsets[i]`` is series ``i``'s start in periods after ``start`` (time features index it).
    """

    name: str
    freq: str
    prediction_length: int
    start: pd.Period
    train: np.ndarray  # (N, T) float32, NaN right padding and NaN missing values
    train_lengths: np.ndarray  # (N,) int64
    test: np.ndarray  # (M, T') float32
    test_lengths: np.ndarray  # (M,)
    test_ids: np.ndarray  # (M,) int64
    offsets: np.ndarray  # (N,) int64
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def num_series(self) -> int:
        """Number of training series (= cardinality of the series-id embedding)."""
        return len(self.train)

    def series(self, split: str = "train") -> list[np.ndarray]:
        """The series of ``split`` without padding (one array each)."""
        values, lengths = (
            (self.train, self.train_lengths) if split == "train" else (self.test, self.test_lengths)
        )
        return [row[:n] for row, n in zip(values, lengths, strict=True)]


def pad(series: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Stack variable-length series into a NaN-padded (N, max_len) float32 array + lengths."""
    lengths = np.array([len(s) for s in series], dtype=np.int64)
    out = np.full((len(series), int(lengths.max())), np.nan, dtype=np.float32)
    mask = np.arange(out.shape[1])[None, :] < lengths[:, None]
    out[mask] = np.concatenate([np.asarray(s, dtype=np.float32) for s in series])
    return out, lengths


def _m4_hourly(folder: Path, cfg: Any) -> Panel:
    train = pd.read_csv(folder / "Hourly-train.csv", index_col=0).to_numpy(np.float32)
    horizon = pd.read_csv(folder / "Hourly-test.csv", index_col=0).to_numpy(np.float32)
    lengths = (~np.isnan(train)).sum(axis=1).astype(np.int64)
    test = [np.concatenate([row[:n], h]) for row, n, h in zip(train, lengths, horizon, strict=True)]
    test_values, test_lengths = pad(test)
    n = len(train)
    # GluonTS's m4 converter uses one dummy start for every series, as here.
    return Panel(
        name="m4_hourly",
        freq="h",
        prediction_length=horizon.shape[1],
        start=pd.Period("1750-01-01 00:00", freq="h"),
        train=train[:, : int(lengths.max())],
        train_lengths=lengths,
        test=test_values,
        test_lengths=test_lengths,
        test_ids=np.arange(n),
        offsets=np.zeros(n, dtype=np.int64),
        description="M4 hourly (414 series, horizon 48), from the mirror CSVs",
    )


def _exchange_rate(folder: Path, cfg: Any) -> Panel:
    frame = pd.read_csv(folder / "exchange_rate.txt.gz", header=None)
    values = frame.to_numpy(np.float32).T  # (8, 7588)
    h, windows = int(cfg.get("prediction_length", 30)), int(cfg.get("rolling_windows", 5))
    n, t = values.shape
    train_len = t - h * windows
    train = values[:, :train_len].copy()
    # Rolling test entries: the k-th ends k windows before the last day (GluonTS exchange_rate).
    cuts = [t - h * (windows - 1 - k) for k in range(windows)]
    test = np.full((n * windows, t), np.nan, dtype=np.float32)
    test_lengths = np.repeat(np.array(cuts, dtype=np.int64)[None], n, axis=0).T.reshape(-1)
    ids = np.tile(np.arange(n), windows)
    for k, cut in enumerate(cuts):  # 5 windows: a loop over windows, not samples
        test[k * n : (k + 1) * n, :cut] = values[:, :cut]
    return Panel(
        name="exchange_rate",
        freq="B",
        prediction_length=h,
        start=pd.Period("1990-01-01", freq="B"),
        train=train,
        train_lengths=np.full(n, train_len, dtype=np.int64),
        test=test,
        test_lengths=test_lengths,
        test_ids=ids,
        offsets=np.zeros(n, dtype=np.int64),
        description=f"exchange rate (8 series, business days), {windows} rolling windows of {h}",
    )


def _artificial(folder: Path, cfg: Any) -> Panel:
    """Seeded ``ComplexSeasonalTimeSeries`` hourly panel (daily + weekly seasonality, noise)."""
    from gluonts.dataset.artificial import ComplexSeasonalTimeSeries

    h = int(cfg.get("prediction_length", 24))
    state = np.random.get_state()
    np.random.seed(int(cfg.get("generator_seed", 0)))  # the generator draws from NumPy's global RNG
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # the generator's own 'H' alias
            data = ComplexSeasonalTimeSeries(
                num_series=int(cfg.get("num_series", 100)),
                prediction_length=h,
                freq_str="H",  # "1h" raises inside the generator
                length_low=int(cfg.get("length_low", 600)),
                length_high=int(cfg.get("length_high", 900)),
                min_val=0.0,
                max_val=1000.0,
                is_noise=True,
                is_scale=True,
                percentage_unique_timestamps=0.07,
            ).generate()
    finally:
        np.random.set_state(state)
    return _from_entries("psagan_artificial", "h", h, data.train, data.test, cfg, folder)


def _from_entries(
    name: str, freq: str, h: int, train: Any, test: Any, cfg: Any, folder: Path
) -> Panel:
    """A panel from GluonTS entries (``start``, ``target``). A test entry's series is its
    ``feat_static_cat[0]`` (the nips datasets carry it) or else its position modulo N."""
    train = list(train)
    test = list(test)
    starts = [pd.Period(e["start"], freq=freq) for e in train]
    start = min(starts)
    offsets = np.array([(s - start).n for s in starts], dtype=np.int64)
    train_values, train_lengths = pad([np.asarray(e["target"], np.float32) for e in train])
    n_train = len(train)
    ids = np.array(
        [
            int(e["feat_static_cat"][0]) if "feat_static_cat" in e else j % n_train
            for j, e in enumerate(test)
        ],
        dtype=np.int64,
    )
    test_values, test_lengths = pad([np.asarray(e["target"], np.float32) for e in test])
    return Panel(
        name=name,
        freq=freq,
        prediction_length=h,
        start=start,
        train=train_values,
        train_lengths=train_lengths,
        test=test_values,
        test_lengths=test_lengths,
        test_ids=ids,
        offsets=offsets,
        description=str(cfg.get("summary", name)),
    )


def _gluonts_repository(folder: Path, cfg: Any) -> Panel:
    from iclr.cli import locations

    repo_name = str(cfg.repository_name)
    if locations.offline():
        raise DataUnavailableError(
            f"dataset '{cfg.name}': data not available offline (GluonTS downloads "
            f"'{repo_name}'); unset ICLR_OFFLINE and run with internet access"
        )
    from gluonts.dataset.repository import get_dataset

    data = get_dataset(repo_name, path=folder)
    freq = str(pd.tseries.frequencies.to_offset(data.metadata.freq).name)
    return _from_entries(
        str(cfg.name),
        freq,
        int(data.metadata.prediction_length),
        data.train,
        data.test,
        cfg,
        folder,
    )


LOADERS = {
    "m4_hourly": _m4_hourly,
    "exchange_rate": _exchange_rate,
    "artificial": _artificial,
    "gluonts": _gluonts_repository,
}


def load(dataset_cfg: Any, folder: Path) -> Panel:
    """The manifest loader: a :class:`Panel` for ``dataset_cfg.source`` from ``folder``."""
    return LOADERS[str(dataset_cfg.source)](Path(folder), dataset_cfg)


def load_panel(cfg: Any) -> Panel:
    """The run's panel through the project's data store (mirror / download, checksums)."""
    from iclr.data import load_dataset

    return load_dataset(cfg.dataset, cfg.paths.data_dir, cfg.paths.mirror)
