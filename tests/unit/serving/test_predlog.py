from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import Decimal

import pytest
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


def test_rows_arrive_while_the_writer_runs_without_waiting_for_close(engine: Engine) -> None:
    writer = PredictionWriter(engine, batch_size=4, interval=0.02)
    try:
        for number in range(10):
            writer.submit(_row(number))
        deadline = time.monotonic() + 5
        while writer.written < 10 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert writer.written == 10
    finally:
        writer.close()


def test_a_full_backlog_counts_what_it_cannot_keep(engine: Engine) -> None:
    writer = PredictionWriter(engine, interval=60, capacity=5)
    for number in range(8):
        writer.submit(_row(number))
    writer.close()
    assert (writer.written, writer.dropped) == (5, 3)


def test_a_store_outage_drops_the_batch_and_keeps_serving(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    writer = PredictionWriter(engine, interval=60)
    writer.submit({**_row(1), "direction": None})  # violates NOT NULL: the insert fails
    writer.close()
    assert (writer.written, writer.dropped) == (0, 1)
    assert "could not log 1 predictions" in caplog.text
    writer = PredictionWriter(engine, interval=60)
    writer.submit(_row(2))
    writer.close()
    assert writer.written == 1
