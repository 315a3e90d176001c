from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, insert

from alphapulse.monitoring import resolved_outcomes, summarize_outcomes
from alphapulse.store import CANDLES, PREDICTIONS, upsert

T0 = datetime(2024, 1, 1, tzinfo=UTC)
CLOSES = ["100", "101", "100.5", "102", "103"]  # up, down, up, up


def store_candles(engine: Engine) -> None:
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


def logged(n: int, *, version: str, role: str, direction: str, hour: int) -> dict[str, object]:
    as_of = T0 + timedelta(hours=hour)
    return {
        "request_id": f"r{n}",
        "role": role,
        "symbol": "BTC/USDT",
        "timeframe": "1h",
        "as_of": as_of,
        "window_start": as_of - timedelta(hours=400),
        "window_end": as_of,
        "direction": direction,
        "probability_up": 0.6 if direction == "up" else 0.4,
        "expected_return": None,
        "reference_price": Decimal(CLOSES[hour]),
        "model_name": "alphapulse-btc-usdt-1h",
        "model_version": version,
        "feature_set": "v",
        "latency_ms": 1.0,
        "created_at": as_of,
    }


def test_live_accuracy_per_model_version(engine: Engine) -> None:
    store_candles(engine)
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
    rows = [
        logged(n, version=version, role=role, direction=direction, hour=n % 4)
        for n, (version, role, direction) in enumerate(calls)
    ]
    rows.append({**rows[0], "as_of": T0 + timedelta(hours=4), "request_id": "unresolved"})
    with engine.begin() as connection:
        connection.execute(insert(PREDICTIONS), rows)
    outcomes = resolved_outcomes(
        engine, exchange="binance", symbol="BTC/USDT", timeframe="1h", horizon_bars=1
    )
    summaries = {s.role: s for s in summarize_outcomes(outcomes)}
    assert summaries["champion"].requests == 5
    assert summaries["champion"].bars == 5
    assert summaries["champion"].resolved == 4
    assert summaries["champion"].accuracy == pytest.approx(0.75)
    assert summaries["challenger"].accuracy == pytest.approx(0.25)
    assert summaries["champion"].mean_return_when_long == pytest.approx(
        (0.00995033 - 0.00496279 + 0.01481509 + 0.00975617) / 4, rel=1e-5
    )


def test_bars_answered_flat_are_abstentions_not_misses(engine: Engine) -> None:
    """Inside its abstain band the model makes no call: such bars are counted, but judged neither way."""
    store_candles(engine)
    directions = ["up", "flat", "flat", "up"]  # hour 0 up (right), hour 3 up (right)
    rows = [logged(n, version="3", role="champion", direction=d, hour=n) for n, d in enumerate(directions)]
    with engine.begin() as connection:
        connection.execute(insert(PREDICTIONS), rows)
    outcomes = resolved_outcomes(
        engine, exchange="binance", symbol="BTC/USDT", timeframe="1h", horizon_bars=1
    )
    (summary,) = summarize_outcomes(outcomes)
    assert (summary.resolved, summary.abstained, summary.called) == (4, 2, 2)
    assert summary.accuracy == 1.0
    assert summary.accuracy_low > 0.3, "the interval is over the two calls, not four bars"


def test_a_bar_polled_ten_thousand_times_counts_once(engine: Engine) -> None:
    """Clients poll: accuracy is per bar, so one bar's 10,000 requests weigh as much as one request."""
    store_candles(engine)
    rows = [logged(n, version="3", role="champion", direction="up", hour=n) for n in range(4)]  # 3 of 4 right
    rows += [logged(10 + n, version="3", role="champion", direction="up", hour=1) for n in range(10_000)]
    with engine.begin() as connection:
        connection.execute(insert(PREDICTIONS), rows)
    outcomes = resolved_outcomes(
        engine, exchange="binance", symbol="BTC/USDT", timeframe="1h", horizon_bars=1
    )
    assert len(outcomes) == 4
    assert outcomes.set_index("as_of").loc[T0 + timedelta(hours=1), "requests"] == 10_001
    (summary,) = summarize_outcomes(outcomes)
    assert summary.requests == 10_004
    assert summary.bars == summary.resolved == 4
    assert summary.accuracy == pytest.approx(0.75)  # per request it would read 0.0003


def test_the_first_answer_for_a_bar_is_the_one_scored(engine: Engine) -> None:
    store_candles(engine)
    first = logged(0, version="3", role="champion", direction="down", hour=0)  # wrong: 100 -> 101
    later = logged(1, version="3", role="champion", direction="up", hour=0)
    with engine.begin() as connection:
        connection.execute(insert(PREDICTIONS), [first, later])
    outcomes = resolved_outcomes(
        engine, exchange="binance", symbol="BTC/USDT", timeframe="1h", horizon_bars=1
    )
    assert list(outcomes["direction"]) == ["down"]
    assert list(outcomes["correct"]) == [0.0]


def test_wilson_interval_brackets_the_share_and_stays_in_the_unit_interval() -> None:
    from alphapulse.monitoring.outcomes import wilson_interval

    low, high = wilson_interval(55, 100)
    assert round(low, 4) == 0.4524  # the textbook figures for 55/100 at 95 %
    assert round(high, 4) == 0.6439
    assert wilson_interval(0, 10)[0] == 0.0
    assert wilson_interval(10, 10)[1] == pytest.approx(1.0)
    assert 0.0 < wilson_interval(10, 10)[0] < 1.0
    narrow, wide = wilson_interval(550, 1000), wilson_interval(55, 100)
    assert narrow[1] - narrow[0] < wide[1] - wide[0]
    assert all(value != value for value in wilson_interval(0, 0))  # NaN: nothing resolved
