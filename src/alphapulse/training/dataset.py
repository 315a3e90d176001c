"""From a feature matrix to the aligned arrays every training step indexes by position.

Training code never touches the DataFrame again after this: positions into these arrays are what the
splitter yields, so features, labels, label windows and strategy returns cannot drift out of alignment.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
import pandas as pd

from alphapulse.features.matrix import FeatureMatrix, trainable_mask
from alphapulse.features.technical import volatility_column

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
TimeArray = npt.NDArray[np.datetime64]


@dataclass(frozen=True)
class Dataset:
    """Trainable rows only: past the warm-up and with a known label."""

    open_time: pd.DatetimeIndex
    open_ns: TimeArray
    features: pd.DataFrame
    x: FloatArray
    y: FloatArray
    label_return: FloatArray
    label_end: TimeArray
    close: FloatArray
    bar_return: FloatArray
    next_return: FloatArray
    feature_columns: tuple[str, ...]
    feature_version: str
    #: The bar's realized volatility (the decision rule's sizing), when the feature set computes one.
    volatility: FloatArray | None = None

    def __len__(self) -> int:
        return len(self.y)

    @property
    def window(self) -> dict[str, str]:
        """The first and last bar's open time: how runs, versions and fingerprints name the data seen."""
        return {"data_start": self.open_time[0].isoformat(), "data_end": self.open_time[-1].isoformat()}

    def select(self, columns: tuple[str, ...]) -> Dataset:
        """The same rows with only ``columns``, in that order (to refit a recipe trained on them)."""
        missing = [column for column in columns if column not in self.feature_columns]
        if missing:
            raise KeyError(f"features not in this dataset: {', '.join(missing)}")
        features = self.features.loc[:, list(columns)]
        return replace(
            self, features=features, x=np.ascontiguousarray(features.to_numpy()), feature_columns=columns
        )

    def with_labels(self, y: FloatArray) -> Dataset:
        """The same rows with other direction labels (the leak audit trains on shuffled ones)."""
        return replace(self, y=y)


def dataset_from(matrix: FeatureMatrix) -> Dataset:
    """Align one matrix; bar returns are taken before rows are dropped so edges keep their neighbours."""
    frame = matrix.frame
    if not isinstance(frame.index, pd.DatetimeIndex) or str(frame.index.tz) != "UTC":
        raise ValueError("feature matrix: the index must be a UTC DatetimeIndex of bar open times")
    if not frame.index.is_monotonic_increasing or frame.index.has_duplicates:
        raise ValueError("feature matrix: open times must be strictly increasing")
    close = frame["close"].to_numpy(dtype=np.float64)
    log_close = np.log(close)
    bar_return = np.diff(log_close, prepend=np.nan)
    next_return = np.append(bar_return[1:], np.nan)
    keep = trainable_mask(frame, matrix.warmup_bars)
    # A known label implies the next bar exists; only a warm-up of 0 leaves the first bar without a return.
    keep &= ~np.isnan(next_return) & ~np.isnan(bar_return)
    rows = frame.loc[keep]
    columns = list(matrix.feature_columns)
    features = rows[columns].astype(np.float64)
    label_end = pd.DatetimeIndex(rows["label_end"]).tz_convert("UTC")
    if (label_end < rows.index).any():
        raise ValueError("feature matrix: a label_end precedes its bar's open_time")
    volatility = volatility_column(matrix.config.indicators)
    if volatility not in frame.columns:  # a matrix built without it (a volatility target then refuses)
        volatility = None
    return Dataset(
        open_time=pd.DatetimeIndex(rows.index),
        open_ns=rows.index.tz_localize(None).to_numpy(dtype="datetime64[ns]"),
        features=features,
        x=np.ascontiguousarray(features.to_numpy(dtype=np.float64)),
        y=rows["label_up"].to_numpy(dtype=np.float64),
        label_return=rows["label_return"].to_numpy(dtype=np.float64),
        label_end=label_end.tz_localize(None).to_numpy(dtype="datetime64[ns]"),
        close=close[keep],
        bar_return=bar_return[keep],
        next_return=next_return[keep],
        feature_columns=tuple(columns),
        feature_version=matrix.version,
        volatility=None if volatility is None else rows[volatility].to_numpy(dtype=np.float64),
    )
