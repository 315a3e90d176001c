"""The latest bar's feature row, published in the shared store for the service's ``/signal``.

Every feature build publishes the last row of its matrix with the bar's exact close, so the service
needs only the database, never a file of the worker's. Values are float64 written with ``repr`` in a
JSON object (NaN as ``NaN``): reading them back gives the same bits, which keeps ``/signal`` identical
to the offline matrix. Readers check ``stamp`` first (one narrow query) and fetch the row only when it
changed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import numpy as np
import pandas as pd
from sqlalchemy import ColumnElement, Engine, and_, select

from alphapulse.features.matrix import FeatureMatrix
from alphapulse.store import ONLINE_FEATURES, upsert

#: (bar open time, when the row was last written): a different stamp means a different row.
Stamp = tuple[datetime, datetime]


@dataclass(frozen=True)
class LatestFeatures:
    as_of: datetime
    #: One row indexed by the bar's open time (UTC), the feature columns in the matrix's order.
    features: pd.DataFrame
    close: Decimal
    stamp: Stamp


def publish_latest(engine: Engine, matrix: FeatureMatrix, symbol: str, candles: pd.DataFrame) -> None:
    """Upsert the matrix's last row; ``candles`` are the bars it was built from (ascending)."""
    as_of = matrix.frame.index[-1]
    last = candles.iloc[-1]
    if pd.Timestamp(last["open_time"]) != as_of:
        raise ValueError(f"candles end at {last['open_time']}, the feature matrix at {as_of}")
    columns = list(matrix.feature_columns)
    values = matrix.frame[columns].iloc[-1].to_numpy(dtype=np.float64)
    row = {
        "feature_set": matrix.version,
        "symbol": symbol,
        "timeframe": matrix.config.timeframe,
        "bar_time": as_of.to_pydatetime(),
        "close": last["close"],
        "features": json.dumps(dict(zip(columns, map(float, values), strict=True))),
    }
    upsert(engine, ONLINE_FEATURES, [row])


def _key(feature_set: str, symbol: str, timeframe: str) -> ColumnElement[bool]:
    table = ONLINE_FEATURES
    return and_(table.c.feature_set == feature_set, table.c.symbol == symbol, table.c.timeframe == timeframe)


def latest_stamp(engine: Engine, feature_set: str, symbol: str, timeframe: str) -> Stamp | None:
    table = ONLINE_FEATURES
    query = select(table.c.bar_time, table.c.ingested_at).where(_key(feature_set, symbol, timeframe))
    with engine.connect() as connection:
        found = connection.execute(query).first()
    return None if found is None else (found.bar_time, found.ingested_at)


def read_latest(engine: Engine, feature_set: str, symbol: str, timeframe: str) -> LatestFeatures | None:
    query = select(ONLINE_FEATURES).where(_key(feature_set, symbol, timeframe))
    with engine.connect() as connection:
        found = connection.execute(query).first()
    if found is None:
        return None
    values: dict[str, float] = json.loads(found.features)
    index = pd.DatetimeIndex([found.bar_time], name="open_time").as_unit("ns")
    frame = pd.DataFrame([list(values.values())], columns=list(values), index=index, dtype=np.float64)
    return LatestFeatures(
        as_of=found.bar_time,
        features=frame,
        close=found.close,
        stamp=(found.bar_time, found.ingested_at),
    )
