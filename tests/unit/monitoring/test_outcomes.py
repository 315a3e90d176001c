from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, insert

from alphapulse.monitoring import resolved_outcomes, summarize_outcomes
from alphapulse.store import CANDLES, PREDICTIONS, upsert

T0 = datetime(2024, 1, 1, tzinfo=UTC)
CLOSES = ["100", "101", "100.5", "102", "103"]  # up, down, up, up


def test_live_accuracy_per_model_version(engine: Engine) -> None:
    upsert(
        engine,
        CANDLES,
        [
            {
                "exchange": "binance",
                "symbol": "BTC/USDT",
                "timeframe": "1h",
                "open_time": T0 + timedelta(hours=i),
                "open": Decimal(c),
                "high": Decimal(c),
                "low": Decimal(c),
                "close": Decimal(c),
                "volume": Decimal(1),
            }
            for i, c in enumerate(CLOSES)
        ],
    )
    calls = [
        ("3", "champion", "up"),
        ("3", "champion", "up"),
        ("3", "champion", "up"),
        ("3", "champion", "up"),
        ("4", "challenger", "down"),
        ("4", "challenger", "down"),
        ("4", "challenger", "down"),
        ("4", "challenger", "down"),
    ]
    rows = []
    for n, (version, role, direction) in enumerate(calls):
        as_of = T0 + timedelta(hours=n % 4)
        rows.append(
            {
                "request_id": f"r{n % 4}",
                "role": role,
                "symbol": "BTC/USDT",
                "timeframe": "1h",
                "as_of": as_of,
                "window_start": as_of - timedelta(hours=400),
                "window_end": as_of,
                "direction": direction,
                "probability_up": 0.6,
                "expected_return": None,
                "reference_price": Decimal(CLOSES[n % 4]),
                "model_name": "alphapulse-btc-usdt-1h",
                "model_version": version,
                "feature_set": "v",
                "latency_ms": 1.0,
                "created_at": as_of,
            }
        )
    rows.append({**rows[0], "as_of": T0 + timedelta(hours=4), "request_id": "unresolved"})
    with engine.begin() as connection:
        connection.execute(insert(PREDICTIONS), rows)
    outcomes = resolved_outcomes(
        engine, exchange="binance", symbol="BTC/USDT", timeframe="1h", horizon_bars=1
    )
    summaries = {s.role: s for s in summarize_outcomes(outcomes)}
    assert summaries["champion"].predictions == 5
    assert summaries["champion"].resolved == 4
    assert summaries["champion"].accuracy == pytest.approx(0.75)
    assert summaries["challenger"].accuracy == pytest.approx(0.25)
    assert summaries["champion"].mean_return_when_long == pytest.approx(
        (0.00995033 - 0.00496279 + 0.01481509 + 0.00975617) / 4, rel=1e-5
    )
