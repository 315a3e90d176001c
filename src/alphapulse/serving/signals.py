"""The latest precomputed feature row per instrument, kept in memory for ``/signal``.

``alphapulse features build`` materializes the full anchored matrix; its last row is the latest closed
bar's features, bit-identical to what ``/predict`` computes from the same candles. Serving reads that
row (and the bar's exact Decimal close from the candle store) once per change, so answering a signal
is a dictionary lookup and one model call. ``refresh`` is cheap when nothing changed (one small query
per instrument) and swaps the whole mapping at once, so readers never see a half-updated state.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
from sqlalchemy import Engine, select

from alphapulse.features import FeatureConfig, anchor_time, feature_set_version
from alphapulse.store import FEATURE_SETS
from alphapulse.store.queries import load_candles
from alphapulse.timeframes import timeframe_delta

Key = tuple[str, str, str]


@dataclass(frozen=True)
class LatestBar:
    as_of: datetime
    features: pd.DataFrame
    reference_price: Decimal
    window_start: datetime
    #: What the row was read from; a different stamp in the store means a rebuilt feature set.
    stamp: tuple[str, int, datetime, float]


class SignalCache:
    def __init__(self, engine: Engine, exchange: str) -> None:
        self._engine = engine
        self._exchange = exchange
        self._latest: dict[Key, LatestBar] = {}

    def get(self, symbol: str, timeframe: str, feature_set: str) -> LatestBar | None:
        return self._latest.get((symbol, timeframe, feature_set))

    def refresh(self, wanted: Iterable[tuple[str, FeatureConfig]]) -> None:
        """Re-read the instruments (symbol, feature config) whose materialized feature set changed."""
        latest: dict[Key, LatestBar] = {}
        for symbol, config in wanted:
            key = (symbol, config.timeframe, feature_set_version(config))
            bar = self._read(key, config, self._latest.get(key))
            if bar is not None:
                latest[key] = bar
        self._latest = latest

    def _read(self, key: Key, config: FeatureConfig, cached: LatestBar | None) -> LatestBar | None:
        symbol, timeframe, version = key
        query = select(FEATURE_SETS.c.path, FEATURE_SETS.c.rows, FEATURE_SETS.c.last_bar).where(
            FEATURE_SETS.c.version == version,
            FEATURE_SETS.c.symbol == symbol,
            FEATURE_SETS.c.timeframe == timeframe,
        )
        with self._engine.connect() as connection:
            record = connection.execute(query).first()
        if record is None or not Path(record.path).exists():
            return None
        stamp = (str(record.path), int(record.rows), record.last_bar, Path(record.path).stat().st_mtime)
        if cached is not None and cached.stamp == stamp:
            return cached
        parquet = pq.ParquetFile(record.path)
        row = parquet.read_row_group(parquet.num_row_groups - 1).to_pandas().iloc[[-1]]
        as_of = pd.Timestamp(row.index[0]).tz_convert("UTC")
        candle = load_candles(
            self._engine,
            self._exchange,
            symbol,
            timeframe,
            start=as_of.to_pydatetime(),
            end=(as_of + timeframe_delta(timeframe)).to_pydatetime(),
        )
        if candle.empty:
            return None
        return LatestBar(
            as_of=as_of.to_pydatetime(),
            features=row,
            reference_price=Decimal(candle["close"].iloc[0]),
            window_start=anchor_time(as_of, config).to_pydatetime(),
            stamp=stamp,
        )
