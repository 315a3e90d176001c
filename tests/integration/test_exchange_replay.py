"""The real ccxt code path over real HTTP on 127.0.0.1, with faults injected mid-backfill."""

from __future__ import annotations

import csv
import gzip
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from alphapulse.ingest import ingest_exchange
from alphapulse.sources.exchange import ExchangeSourceError, FetchPlan, RetryPolicy, make_exchange
from alphapulse.sources.rows import from_epoch_ms, to_epoch_ms
from alphapulse.store.queries import load_candles
from tests.support.replay import FAULTS, ReplayState, kline, replay_server

REPO = Path(__file__).resolve().parents[2]
HOUR_MS = 3_600_000
PAGE = 200
BARS = 1_500  # several pages of real candles


@pytest.fixture(scope="module")
def hourly_klines() -> list[list[Any]]:
    """The first bundled hourly candles as Binance arrays, values exactly as the CSV text."""
    with gzip.open(
        REPO / "src/alphapulse/data/ohlcv/binance_btcusdt_1h_2020-10_2025-10.csv.gz", "rt"
    ) as handle:
        records = [r for _, r in zip(range(BARS), csv.DictReader(handle), strict=False)]
    return [
        kline(
            to_epoch_ms(datetime.fromisoformat(r["open_time"]).replace(tzinfo=UTC)),
            [r[name] for name in ("open", "high", "low", "close", "volume")],
            HOUR_MS,
        )
        for r in records
    ]


def client(base: str, timeout_ms: int = 1_500) -> Any:
    return make_exchange(
        "binance", api_base=base, timeout_ms=timeout_ms, options={"fetchMarkets": {"types": ["spot"]}}
    )


def plan(since_ms: int, attempts: int = 6) -> FetchPlan:
    return FetchPlan(
        exchange="binance",
        symbol="BTC/USDT",
        timeframe="1h",
        since=from_epoch_ms(since_ms),
        page_limit=PAGE,
        retry=RetryPolicy(attempts=attempts, base_delay=0.05, max_delay=2.0),
    )


def assert_store_equals_source(engine: Engine, klines: list[list[Any]]) -> None:
    stored = load_candles(engine, "binance", "BTC/USDT", "1h")
    assert len(stored) == len(klines)
    assert stored["open_time"].is_unique
    for (_, row), bar in zip(stored.iterrows(), klines, strict=True):
        assert row["open_time"].to_pydatetime() == from_epoch_ms(bar[0])
        for i, name in enumerate(("open", "high", "low", "close", "volume"), start=1):
            assert row[name] == Decimal(bar[i]), (name, bar)


def now_after(klines: list[list[Any]]) -> datetime:
    """A clock just after the last bar closed, plus half of a still-open bar the server must not see stored."""
    return from_epoch_ms(klines[-1][0]) + timedelta(hours=1, minutes=30)


@pytest.mark.integration
def test_backfill_through_every_fault_is_exact(engine: Engine, hourly_klines: list[list[Any]]) -> None:
    open_bar = kline(hourly_klines[-1][0] + HOUR_MS, ["1"] * 5, HOUR_MS)  # still forming: never stored
    faults = {2: "429", 3: "500", 5: "hang", 6: "truncate", 8: "reset"}
    state = ReplayState(klines={("BTCUSDT", "1h"): [*hourly_klines, open_bar]}, faults=dict(faults))
    with replay_server(state) as base:
        report = ingest_exchange(
            engine, client(base), plan(hourly_klines[0][0]), now=lambda: now_after(hourly_klines)
        )
    assert not state.faults, f"every fault was served: {state.log}"
    assert {f for f in faults.values()} == set(FAULTS)
    assert report.inserted == BARS
    assert_store_equals_source(engine, hourly_klines)


@pytest.mark.integration
def test_run_that_gives_up_resumes_on_the_next_run(engine: Engine, hourly_klines: list[list[Any]]) -> None:
    state = ReplayState(klines={("BTCUSDT", "1h"): hourly_klines}, faults={4: "500", 5: "500"})
    with replay_server(state) as base:
        with pytest.raises(ExchangeSourceError, match="gave up after 2 attempts"):
            ingest_exchange(
                engine,
                client(base),
                plan(hourly_klines[0][0], attempts=2),
                now=lambda: now_after(hourly_klines),
            )
        partial = load_candles(engine, "binance", "BTC/USDT", "1h")
        assert len(partial) == 3 * PAGE  # three pages landed before the failure
        resumed = ingest_exchange(
            engine, client(base), plan(hourly_klines[0][0]), now=lambda: now_after(hourly_klines)
        )
    assert resumed.inserted == BARS - 3 * PAGE
    first_resumed = [line for line in state.log if "ok" in line][3]
    assert f"startTime={hourly_klines[3 * PAGE][0]}" in first_resumed
    assert_store_equals_source(engine, hourly_klines)


@pytest.mark.integration
def test_incremental_run_fetches_only_new_closed_bars(engine: Engine, hourly_klines: list[list[Any]]) -> None:
    state = ReplayState(klines={("BTCUSDT", "1h"): hourly_klines})
    halfway = hourly_klines[BARS // 2 - 1]
    with replay_server(state) as base:
        ingest_exchange(
            engine,
            client(base),
            plan(hourly_klines[0][0]),
            now=lambda: from_epoch_ms(halfway[0]) + timedelta(minutes=90),
        )
        assert len(load_candles(engine, "binance", "BTC/USDT", "1h")) == BARS // 2
        second = ingest_exchange(
            engine, client(base), plan(hourly_klines[0][0]), now=lambda: now_after(hourly_klines)
        )
        third = ingest_exchange(
            engine, client(base), plan(hourly_klines[0][0]), now=lambda: now_after(hourly_klines)
        )
    assert second.inserted == BARS - BARS // 2
    assert third.received == 0
    assert_store_equals_source(engine, hourly_klines)


@pytest.mark.integration
def test_recorded_binance_response_is_stored_exactly(engine: Engine) -> None:
    recorded = json.loads(
        (REPO / "tests/fixtures/exchange/binance_api_v3_klines_btcusdt_1m.json").read_text()
    )
    state = ReplayState(klines={("BTCUSDT", "1m"): recorded})
    fetch = FetchPlan(
        exchange="binance", symbol="BTC/USDT", timeframe="1m", since=from_epoch_ms(recorded[0][0])
    )
    with replay_server(state) as base:
        report = ingest_exchange(
            engine, client(base), fetch, now=lambda: from_epoch_ms(recorded[-1][0] + 60_000)
        )
    assert report.inserted == len(recorded) == 10
    stored = load_candles(engine, "binance", "BTC/USDT", "1m")
    for (_, row), bar in zip(stored.iterrows(), recorded, strict=True):
        assert [row[n] for n in ("open", "high", "low", "close", "volume")] == [Decimal(v) for v in bar[1:6]]
        assert str(row["open"]) == bar[1].rstrip("0").rstrip(".")


def test_unknown_exchange_and_symbol_are_named() -> None:
    with pytest.raises(ValueError, match="exchange: 'nope' is not a ccxt exchange id"):
        make_exchange("nope")
