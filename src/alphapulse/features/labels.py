"""Training labels: forward log return and direction over a horizon, with the time each becomes known.

``label_end`` (the close of the bar ``horizon`` rows ahead) is kept so training can purge samples whose
label windows overlap the test fold. The last ``horizon`` bars have no label yet: NaN, never 0, so they
cannot slip into a training set.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from alphapulse.features.config import LabelConfig

LABEL_COLUMNS = ("label_return", "label_up", "label_end")


def make_labels(close: pd.Series, close_time: pd.DatetimeIndex, config: LabelConfig) -> pd.DataFrame:
    """Labels indexed like ``close``; ``close_time`` holds each bar's close time."""
    horizon = config.horizon_bars
    values = close.to_numpy(dtype=np.float64)
    forward = np.full(len(values), np.nan)
    if len(values) > horizon:
        forward[:-horizon] = np.log(values[horizon:] / values[:-horizon])
    known = ~np.isnan(forward)
    up = np.where(known, (forward > config.threshold).astype(np.float64), np.nan)
    end = pd.Series(close_time, index=close.index).shift(-horizon)
    return pd.DataFrame({"label_return": forward, "label_up": up, "label_end": end}, index=close.index)
