"""Idempotent upserts on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select

from alphapulse.store import (
    CANDLE_CORRECTIONS,
    FEATURE_SETS,
    Audit,
    Candle,
    NewsItem,
    OnChange,
    make_engine,
    upsert,
)
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


def feature_set_row(at: datetime) -> dict[str, object]:
    """A ``feature_sets`` row without its stamps (``created_at``, ``built_at``)."""
    return {
        "version": "v1",
        "symbol": "BTC/USDT",
        "timeframe": "1h",
        "config_json": "{}",
        "library_version": "0",
        "rows": 1,
        "columns": 1,
        "first_bar": at,
        "last_bar": at,
        "path": "/x.parquet",
    }


def test_created_at_is_set_once_and_never_counts_as_a_change(engine: Engine) -> None:
    record = {**feature_set_row(T0), "built_at": T0}
    assert upsert(engine, FEATURE_SETS, [record]).inserted == 1
    with engine.connect() as connection:
        created = connection.execute(select(FEATURE_SETS.c.created_at)).scalar_one()
    assert upsert(engine, FEATURE_SETS, [record]).unchanged == 1
    assert upsert(engine, FEATURE_SETS, [{**record, "rows": 2}]).updated == 1
    with engine.connect() as connection:
        assert connection.execute(select(FEATURE_SETS.c.created_at)).scalar_one() == created


def test_keep_refuses_a_differing_row_and_returns_both_versions(engine: Engine) -> None:
    upsert(engine, Candle.__table__, [candle(price=Decimal("10")), candle(T0 + timedelta(hours=1))])
    result = upsert(
        engine,
        Candle.__table__,
        [
            candle(price=Decimal("10"), close=Decimal("10.5")),
            candle(T0 + timedelta(hours=1)),
            candle(T0 + timedelta(hours=2)),
        ],
        on_change=OnChange.KEEP,
    )
    assert (result.inserted, result.updated, result.unchanged) == (1, 0, 1)
    (change,) = result.changes
    assert (change.stored["close"], change.incoming["close"]) == (Decimal("10"), Decimal("10.5"))
    assert change.stored["open_time"] == change.incoming["open_time"] == T0
    assert {c.open_time: c.close for c in read_all(engine)}[T0] == Decimal("10")
    assert count(engine) == 3


def test_keep_sees_the_same_value_in_another_notation_as_unchanged(engine: Engine) -> None:
    upsert(engine, Candle.__table__, [candle(price=Decimal("10.50"))])
    result = upsert(engine, Candle.__table__, [candle(price=Decimal("10.5000"))], on_change=OnChange.KEEP)
    assert (result.unchanged, result.changes) == (1, ())


def test_audited_replacement_keeps_the_old_values(engine: Engine) -> None:
    upsert(engine, Candle.__table__, [candle(price=Decimal("10"))])
    stamp = datetime(2025, 1, 1, tzinfo=UTC)
    audit = Audit(CANDLE_CORRECTIONS, {"run_id": "run-7", "corrected_at": stamp})
    result = upsert(engine, Candle.__table__, [candle(price=Decimal("10"), close=Decimal("11"))], audit=audit)
    assert (result.inserted, result.updated, len(result.changes)) == (0, 1, 1)
    assert read_all(engine)[0].close == Decimal("11")
    with engine.connect() as connection:
        (row,) = connection.execute(select(CANDLE_CORRECTIONS)).mappings()
    assert (row["open_time"], row["old_close"], row["new_close"]) == (T0, Decimal("10"), Decimal("11"))
    assert (row["old_open"], row["new_open"], row["run_id"], row["corrected_at"]) == (
        Decimal("10"),
        Decimal("10"),
        "run-7",
        stamp,
    )
    again = upsert(engine, Candle.__table__, [candle(price=Decimal("10"), close=Decimal("11"))], audit=audit)
    assert (again.unchanged, again.changes) == (1, ())


def test_an_audit_needs_replacement() -> None:
    audit = Audit(CANDLE_CORRECTIONS, {})
    with pytest.raises(ValueError, match="needs on_change=REPLACE"):
        upsert(make_engine("sqlite://"), Candle.__table__, [candle()], on_change=OnChange.KEEP, audit=audit)
