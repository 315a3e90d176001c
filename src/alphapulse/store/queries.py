"""Reads out of the store in the shapes the pipeline consumes (money stays Decimal)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import Engine, func, select

from alphapulse.store.tables import CANDLES, NEWS_ITEMS, ONLINE_FEATURES

CANDLE_COLUMNS = ["open_time", "open", "high", "low", "close", "volume"]
NEWS_COLUMNS = ["published_at", "title", "summary", "source"]


def latest_candle(engine: Engine, exchange: str, symbol: str, timeframe: str) -> dict[str, Any] | None:
    table = CANDLES
    query = (
        select(table)
        .where(table.c.exchange == exchange, table.c.symbol == symbol, table.c.timeframe == timeframe)
        .order_by(table.c.open_time.desc())
        .limit(1)
    )
    with engine.connect() as connection:
        row = connection.execute(query).first()
    return dict(row._mapping) if row else None


def unfeatured_symbols(engine: Engine, exchange: str, symbols: Sequence[str], timeframe: str) -> list[str]:
    """The ``symbols`` whose newest stored bar is newer than their newest published features (or that have
    none): an ingestion that stored bars and died before announcing them leaves these behind, and the
    next one, with nothing new of its own, must still have them built."""
    candles, online = CANDLES.c, ONLINE_FEATURES.c
    newest_bar = (
        select(candles.symbol, func.max(candles.open_time))
        .where(candles.exchange == exchange, candles.timeframe == timeframe, candles.symbol.in_(symbols))
        .group_by(candles.symbol)
    )
    newest_features = (
        select(online.symbol, func.max(online.bar_time))
        .where(online.timeframe == timeframe, online.symbol.in_(symbols))
        .group_by(online.symbol)
    )
    with engine.connect() as connection:
        bars = dict(connection.execute(newest_bar).tuples().all())
        featured = dict(connection.execute(newest_features).tuples().all())
    return [
        symbol
        for symbol in symbols
        if symbol in bars and (symbol not in featured or featured[symbol] < bars[symbol])
    ]


def count_candles(engine: Engine, exchange: str | None = None, symbol: str | None = None) -> int:
    table = CANDLES
    query = select(func.count()).select_from(table)
    if exchange:
        query = query.where(table.c.exchange == exchange)
    if symbol:
        query = query.where(table.c.symbol == symbol)
    with engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


def stored_symbols(engine: Engine, exchange: str, timeframe: str) -> list[str]:
    query = (
        select(CANDLES.c.symbol)
        .where(CANDLES.c.exchange == exchange, CANDLES.c.timeframe == timeframe)
        .distinct()
        .order_by(CANDLES.c.symbol)
    )
    with engine.connect() as connection:
        return [str(name) for name in connection.execute(query).scalars()]


def data_fingerprint(engine: Engine, exchange: str, symbol: str, timeframe: str) -> str:
    """Changes whenever the candles of one instrument or the news change: a cache key for derived data."""
    candles = select(func.count(), func.max(CANDLES.c.open_time), func.max(CANDLES.c.ingested_at)).where(
        CANDLES.c.exchange == exchange, CANDLES.c.symbol == symbol, CANDLES.c.timeframe == timeframe
    )
    news = select(func.count(), func.max(NEWS_ITEMS.c.ingested_at))
    with engine.connect() as connection:
        parts = [*connection.execute(candles).one(), *connection.execute(news).one()]
    return "|".join(str(part) for part in parts)


def count_news(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(NEWS_ITEMS)).scalar_one())


def load_candles(
    engine: Engine,
    exchange: str,
    symbol: str,
    timeframe: str,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
) -> pd.DataFrame:
    """Candles ascending by ``open_time`` (UTC), prices as ``Decimal`` objects."""
    table = CANDLES
    query = select(*(table.c[c] for c in CANDLE_COLUMNS)).where(
        table.c.exchange == exchange, table.c.symbol == symbol, table.c.timeframe == timeframe
    )
    if start is not None:
        query = query.where(table.c.open_time >= start)
    if end is not None:
        query = query.where(table.c.open_time < end)
    with engine.connect() as connection:
        rows = connection.execute(query.order_by(table.c.open_time)).all()
    return candles_frame([row._mapping for row in rows])


def load_news(engine: Engine, *, start: datetime | None = None, end: datetime | None = None) -> pd.DataFrame:
    """Headlines ascending by ``published_at`` (UTC); ``end`` is inclusive so a bar sees news at its close."""
    table = NEWS_ITEMS
    query = select(*(table.c[c] for c in NEWS_COLUMNS))
    if start is not None:
        query = query.where(table.c.published_at >= start)
    if end is not None:
        query = query.where(table.c.published_at <= end)
    with engine.connect() as connection:
        rows = connection.execute(query.order_by(table.c.published_at, table.c.id)).all()
    return news_frame([row._mapping for row in rows])


def candles_frame(rows: Sequence[Mapping[Any, Any]]) -> pd.DataFrame:
    """The candle frame the feature builder takes, from stored rows or straight from a source."""
    frame = pd.DataFrame([[row[c] for c in CANDLE_COLUMNS] for row in rows], columns=CANDLE_COLUMNS)
    frame["open_time"] = pd.to_datetime(frame["open_time"], utc=True)
    return frame


def news_frame(rows: Sequence[Mapping[Any, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame([[row[c] for c in NEWS_COLUMNS] for row in rows], columns=NEWS_COLUMNS)
    frame["published_at"] = pd.to_datetime(frame["published_at"], utc=True)
    return frame
