"""Exact Decimal and UTC round-trips through the real databases (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import StatementError

from alphapulse.store import Candle, upsert
from tests.unit.test_money import STORABLE

BIG = Decimal("12345678901234.123456789012345678")
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def candle(open_time: datetime = T0, price: Decimal = Decimal(1), **overrides: object) -> dict[str, object]:
    row: dict[str, object] = {
        "exchange": "binance",
        "symbol": "BTC/USDT",
        "timeframe": "1h",
        "open_time": open_time,
        "open": price,
        "high": price,
        "low": price,
        "close": price,
        "volume": price,
    }
    row.update(overrides)
    return row


def read_all(engine: Engine) -> list[Candle]:
    with engine.connect() as connection:
        return [Candle(**row._mapping) for row in connection.execute(select(Candle.__table__))]


def test_big_decimal_round_trips_exactly(engine: Engine) -> None:
    upsert(engine, Candle.__table__, [candle(price=BIG)])
    (stored,) = read_all(engine)
    assert stored.close == BIG
    assert str(stored.close) == "12345678901234.123456789012345678"


def test_backend_storage_form(engine: Engine) -> None:
    upsert(engine, Candle.__table__, [candle(price=BIG)])
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            column_type = connection.execute(
                text(
                    "SELECT numeric_precision, numeric_scale FROM information_schema.columns "
                    "WHERE table_name = 'candles' AND column_name = 'close'"
                )
            ).one()
            assert tuple(column_type) == (38, 18)
        else:
            raw = connection.execute(text("SELECT close, typeof(close) FROM candles")).one()
            assert tuple(raw) == ("12345678901234.123456789012345678", "text")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(STORABLE, min_size=1, max_size=20))
def test_arbitrary_numeric_38_18_round_trips(engine: Engine, values: list[Decimal]) -> None:
    rows = [candle(T0 + timedelta(hours=i), price=v) for i, v in enumerate(values)]
    upsert(engine, Candle.__table__, rows)
    stored = {c.open_time: c.close for c in read_all(engine)}
    for row in rows:
        assert stored[row["open_time"]] == row["close"]


def test_times_come_back_as_utc(engine: Engine) -> None:
    plus_two = datetime(2024, 1, 1, 2, tzinfo=timezone(timedelta(hours=2)))
    upsert(engine, Candle.__table__, [candle(open_time=plus_two)])
    (stored,) = read_all(engine)
    assert stored.open_time == T0
    assert stored.open_time.tzinfo == UTC


def test_naive_datetime_is_refused(engine: Engine) -> None:
    with pytest.raises((ValueError, StatementError), match="naive"):
        upsert(engine, Candle.__table__, [candle(open_time=datetime(2024, 1, 1))])


def test_float_is_refused_and_nothing_is_lost(engine: Engine) -> None:
    upsert(engine, Candle.__table__, [candle(price=Decimal("5"))])
    with pytest.raises((ValueError, StatementError), match="float"):
        upsert(engine, Candle.__table__, [candle(T0 + timedelta(hours=1), price=Decimal(1), close=1.5)])
    (stored,) = read_all(engine)
    assert stored.close == Decimal(5)


def test_out_of_range_value_is_refused_not_rounded(engine: Engine) -> None:
    with pytest.raises((ValueError, StatementError), match="NUMERIC"):
        upsert(engine, Candle.__table__, [candle(price=Decimal("0.0000000000000000001"))])
    assert read_all(engine) == []
