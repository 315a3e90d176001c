"""The latest precomputed feature row per instrument, kept in memory for ``/signal``.

Every feature build publishes its matrix's last row, the latest closed bar's features, with the bar's
exact Decimal close, in the shared store (``features.latest``, table ``online_features``): bit-identical
to what ``/predict`` computes from the same candles. Serving reads that row once per change, so
answering a signal is a dictionary lookup and one model call. ``refresh`` is cheap when nothing changed
(one narrow query per instrument) and swaps the whole mapping at once, so readers never see a
half-updated state.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import pandas as pd
from sqlalchemy import Engine

from alphapulse.features import FeatureConfig, anchor_time, feature_set_version, latest_stamp, read_latest
from alphapulse.features.latest import Stamp

Key = tuple[str, str, str]


@dataclass(frozen=True)
class LatestBar:
    as_of: datetime
    features: pd.DataFrame
    reference_price: Decimal
    window_start: datetime
    #: What the row was read from; a different stamp in the store means a newly published row.
    stamp: Stamp


class SignalCache:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._latest: dict[Key, LatestBar] = {}

    def get(self, symbol: str, timeframe: str, feature_set: str) -> LatestBar | None:
        return self._latest.get((symbol, timeframe, feature_set))

    def refresh(self, wanted: Iterable[tuple[str, FeatureConfig]]) -> None:
        """Re-read the instruments (symbol, feature config) whose published row changed."""
        latest: dict[Key, LatestBar] = {}
        for symbol, config in wanted:
            key = (symbol, config.timeframe, feature_set_version(config))
            bar = self._read(key, config, self._latest.get(key))
            if bar is not None:
                latest[key] = bar
        self._latest = latest

    def _read(self, key: Key, config: FeatureConfig, cached: LatestBar | None) -> LatestBar | None:
        symbol, timeframe, version = key
        if cached is not None and latest_stamp(self._engine, version, symbol, timeframe) == cached.stamp:
            return cached
        row = read_latest(self._engine, version, symbol, timeframe)
        if row is None:
            return None
        return LatestBar(
            as_of=row.as_of,
            features=row.features,
            reference_price=row.close,
            window_start=anchor_time(pd.Timestamp(row.as_of), config).to_pydatetime(),
            stamp=row.stamp,
        )
