"""Synthetic feature matrices shaped like ``alphapulse.features.FeatureMatrix``: a random walk whose next
moves are partly explained by one feature (``signal`` > 0) or by nothing at all (``signal`` = 0)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from alphapulse.features import FeatureConfig, load_config


@dataclass(frozen=True)
class SyntheticMatrix:
    frame: pd.DataFrame
    feature_columns: tuple[str, ...]
    version: str
    warmup_bars: int
    #: Not what built it (nothing did), but the shape of what training records: the shipped config.
    config: FeatureConfig = field(default_factory=load_config)


def synthetic_matrix(
    n: int = 3000, *, signal: float = 0.0, horizon: int = 1, seed: int = 0
) -> SyntheticMatrix:
    rng = np.random.default_rng(seed)
    open_time = pd.date_range("2023-01-01", periods=n, freq="h", tz="UTC")
    driver = rng.standard_normal(n)
    noise = rng.standard_normal((n, 3))
    bar_return = np.empty(n)
    bar_return[0] = 0.0
    bar_return[1:] = 0.004 * (signal * driver[:-1] + rng.standard_normal(n - 1))
    close = 30_000 * np.exp(np.cumsum(bar_return))
    log_close = np.log(close)
    label_return = np.full(n, np.nan)
    label_return[:-horizon] = log_close[horizon:] - log_close[:-horizon]
    label_up = np.where(np.isnan(label_return), np.nan, (label_return > 0).astype(float))
    frame = pd.DataFrame(
        {
            "driver": driver,
            "noise_a": noise[:, 0],
            "noise_b": noise[:, 1],
            "noise_c": noise[:, 2],
            "close": close,
            "label_return": label_return,
            "label_up": label_up,
            "label_end": open_time + pd.Timedelta(hours=horizon + 1),
        },
        index=pd.DatetimeIndex(open_time, name="open_time"),
    )
    frame.iloc[:5, :4] = np.nan  # warm-up rows, as rolling features would leave them
    columns = ("driver", "noise_a", "noise_b", "noise_c")
    return SyntheticMatrix(frame, columns, f"synthetic-s{signal}-h{horizon}-{seed}", warmup_bars=5)
