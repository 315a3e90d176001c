"""Idempotent upserts on both backends."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import Engine, func, select

from alphapulse.store import FEATURE_SETS, Candle, NewsItem, upsert
from tests.unit.store.test_types_and_roundtrip import T0, candle, read_all


def count(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(Candle.__table__)).scalar_one())


def test_reinserting_changes_nothing(engine: Engine) -> None:
    rows = [candle(T0 + timedelta(hours=i), price=Decimal(i) + Decimal("0.5")) for i in range(500)]
    first = upsert(engine, Candle.__table__, rows)
    second = upsert(engine, Candle.__table__, rows)
    assert (first.inserted, first.updated, first.unchanged) == (500, 0, 0)
    assert (second.inserted, second.updated, second.unchanged) == (0, 0, 500)
    assert count(engine) == 500


def test_corrected_candle_updates_in_place(engine: Engine) -> None:
    upsert(engine, Candle.__table__, [candle(price=Decimal("10")), candle(T0 + timedelta(hours=1))])
    result = upsert(engine, Candle.__table__, [candle(price=Decimal("10"), close=Decimal("10.5"))])
    assert (result.inserted, result.updated, result.unchanged) == (0, 1, 0)
    stored = {c.open_time: c for c in read_all(engine)}
    assert stored[T0].close == Decimal("10.5")
    assert count(engine) == 2


def test_same_value_in_another_notation_is_unchanged(engine: Engine) -> None:
    upsert(engine, Candle.__table__, [candle(price=Decimal("10.50"))])
    result = upsert(engine, Candle.__table__, [candle(price=Decimal("10.5000000"))])
    assert result.unchanged == 1


def test_duplicate_keys_in_one_batch_keep_the_last(engine: Engine) -> None:
    result = upsert(
        engine,
        Candle.__table__,
        [candle(price=Decimal(1)), candle(price=Decimal(2))],
    )
    assert result.inserted == 1
    (stored,) = read_all(engine)
    assert stored.close == Decimal(2)


def test_empty_batch_is_a_no_op(engine: Engine) -> None:
    assert upsert(engine, Candle.__table__, []).written == 0


def test_news_text_with_tabs_and_newlines_survives(engine: Engine) -> None:
    item = {
        "id": "a" * 64,
        "source": "test",
        "guid": "g1",
        "url": "https://example.com/a",
        "published_at": T0,
        "title": "Tab\there, newline\nthere, backslash \\ and quote ' \"",
        "summary": None,
    }
    assert upsert(engine, NewsItem.__table__, [item]).inserted == 1
    assert upsert(engine, NewsItem.__table__, [item]).unchanged == 1
    with engine.connect() as connection:
        title = connection.execute(select(NewsItem.__table__.c.title)).scalar_one()
    assert title == item["title"]


def test_created_at_is_set_once_and_never_counts_as_a_change(engine: Engine) -> None:
    record = {
        "version": "v1",
        "symbol": "BTC/USDT",
        "timeframe": "1h",
        "config_json": "{}",
        "library_version": "0",
        "rows": 1,
        "columns": 1,
        "first_bar": T0,
        "last_bar": T0,
        "path": "/x.parquet",
    }
    assert upsert(engine, FEATURE_SETS, [record]).inserted == 1
    with engine.connect() as connection:
        created = connection.execute(select(FEATURE_SETS.c.created_at)).scalar_one()
    assert upsert(engine, FEATURE_SETS, [record]).unchanged == 1
    assert upsert(engine, FEATURE_SETS, [{**record, "rows": 2}]).updated == 1
    with engine.connect() as connection:
        assert connection.execute(select(FEATURE_SETS.c.created_at)).scalar_one() == created
