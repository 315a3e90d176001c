from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import Engine, func, select

from alphapulse.serving.predlog import PredictionWriter
from alphapulse.store import PREDICTIONS


def _row(number: int) -> dict[str, object]:
    moment = datetime(2022, 1, 1, tzinfo=UTC)
    return {
        "request_id": f"r{number}",
        "role": "champion",
        "symbol": "BTC/USDT",
        "timeframe": "1h",
        "as_of": moment,
        "window_start": moment,
        "window_end": moment,
        "direction": "up",
        "probability_up": 0.6,
        "expected_return": None,
        "reference_price": Decimal("46216.93000000000000001"),
        "model_name": "alphapulse-btc-usdt-1h",
        "model_version": "1",
        "feature_set": "abc",
        "latency_ms": 1.5,
        "created_at": moment,
    }


def test_queued_rows_are_written_in_batches_and_flushed_on_close(engine: Engine) -> None:
    writer = PredictionWriter(engine, batch_size=7, interval=0.05)
    for number in range(30):
        writer.submit(_row(number))
    writer.close()
    assert writer.written == 30
    assert writer.dropped == 0
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(PREDICTIONS)).scalar_one() == 30
        price = connection.execute(select(PREDICTIONS.c.reference_price).limit(1)).scalar_one()
    assert price == Decimal("46216.93000000000000001")
