"""The bulk path at realistic size: 100,000 candles loaded twice leave exactly 100,000 rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select

from alphapulse.store import Candle, upsert

ROWS = 100_000


def candles(count: int, shift: Decimal = Decimal(0)) -> list[dict[str, object]]:
    start = datetime(2015, 1, 1, tzinfo=UTC)
    return [
        {
            "exchange": "binance",
            "symbol": "BTC/USDT",
            "timeframe": "1h",
            "open_time": start + timedelta(hours=i),
            "open": Decimal(i) + Decimal("0.12345678") + shift,
            "high": Decimal(i) + Decimal("1.5") + shift,
            "low": Decimal(i) + shift,
            "close": Decimal(i) + Decimal("1.00000001") + shift,
            "volume": Decimal("12345678901234.123456789012345678"),
        }
        for i in range(count)
    ]


@pytest.mark.slow
def test_hundred_thousand_candles_twice(engine: Engine) -> None:
    rows = candles(ROWS)
    first = upsert(engine, Candle.__table__, rows)
    second = upsert(engine, Candle.__table__, rows)
    assert first.inserted == ROWS
    assert (second.inserted, second.updated, second.unchanged) == (0, 0, ROWS)
    with engine.connect() as connection:
        table = Candle.__table__
        assert connection.execute(select(func.count()).select_from(table)).scalar_one() == ROWS
        sample = connection.execute(select(table).where(table.c.open_time == rows[777]["open_time"])).one()
    assert sample.close == rows[777]["close"]
    assert sample.volume == Decimal("12345678901234.123456789012345678")


@pytest.mark.slow
def test_partial_correction_updates_only_changed_rows(engine: Engine) -> None:
    rows = candles(5_000)
    upsert(engine, Candle.__table__, rows)
    corrected = rows[:4_000] + candles(5_000, shift=Decimal("0.01"))[4_000:]
    result = upsert(engine, Candle.__table__, corrected)
    assert (result.inserted, result.updated, result.unchanged) == (0, 1_000, 4_000)
