"""The real ccxt code path over real HTTP on 127.0.0.1 against the product's replay exchange, with faults
injected mid-backfill and the exchange's own clock deciding which bar is still forming."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from alphapulse.pipeline.ingest import ingest_exchange
from alphapulse.replay import (
    FAULTS,
    Bar,
    FaultPlan,
    ReplayClock,
    ReplayMarket,
    Series,
    from_bars,
    replay_server,
)
from alphapulse.replay.series import load_csv
from alphapulse.sources.exchange import ExchangeSourceError, FetchPlan, RetryPolicy, make_exchange
from alphapulse.sources.rows import from_epoch_ms
from alphapulse.store.queries import load_candles

REPO = Path(__file__).resolve().parents[2]
HOUR_MS = 3_600_000
PAGE = 200
BARS = 1_500  # several pages of real candles


class Wall:
    """The replay's wall clock, moved by the test; market time equals it (speed 1, origin = start)."""

    def __init__(self, ms: int) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


@pytest.fixture(scope="module")
def hourly() -> Series:
    """The first bundled hourly candles plus one more, which the tests keep forming."""
    bundled = load_csv(
        "BTC/USDT", REPO / "src/alphapulse/data/ohlcv/binance_btcusdt_1h_2020-10_2025-10.csv.gz"
    )
    return from_bars("BTC/USDT", bundled.bars[: BARS + 1])


@contextmanager
def exchange(series: Series, wall: Wall, faults: FaultPlan | None = None) -> Iterator[str]:
    clock = ReplayClock(start_ms=wall.ms, speed=1, origin_ms=wall.ms, wall=wall)
    with replay_server(ReplayMarket([series], clock), faults) as server:
        yield server.url


def mid_bar(bar: Bar) -> Wall:
    """Half-way through ``bar``: it is forming, every bar before it closed."""
    return Wall(bar.open_ms + HOUR_MS // 2)


def client(base: str, timeout_ms: int = 1_500) -> Any:
    return make_exchange("binance", api_base=base, timeout_ms=timeout_ms)


def plan(since_ms: int, attempts: int = 6) -> FetchPlan:
    return FetchPlan(
        exchange="binance",
        symbol="BTC/USDT",
        timeframe="1h",
        since=from_epoch_ms(since_ms),
        page_limit=PAGE,
        retry=RetryPolicy(attempts=attempts, base_delay=0.05, max_delay=2.0),
    )


def assert_store_equals_source(engine: Engine, bars: tuple[Bar, ...]) -> None:
    stored = load_candles(engine, "binance", "BTC/USDT", "1h")
    assert len(stored) == len(bars)
    assert stored["open_time"].is_unique
    for (_, row), bar in zip(stored.iterrows(), bars, strict=True):
        assert row["open_time"].to_pydatetime() == from_epoch_ms(bar.open_ms)
        for name in ("open", "high", "low", "close", "volume"):
            assert row[name] == getattr(bar, name), (name, bar)


@pytest.mark.integration
def test_backfill_through_every_fault_is_exact(engine: Engine, hourly: Series) -> None:
    # The recording is from 2020: by the local clock every bar is long closed, by the exchange's clock
    # the last one is forming, and it must not be stored.
    faults = FaultPlan({2: "429", 3: "500", 5: "hang", 6: "truncate", 8: "reset"}, hang_seconds=3.0)
    with exchange(hourly, mid_bar(hourly.bars[-1]), faults) as base:
        report = ingest_exchange(engine, client(base), plan(hourly.bars[0].open_ms))
    assert not faults.pending, f"every fault was served: {list(faults.log)}"
    assert {line.split()[1] for line in faults.log} - {"ok"} == set(FAULTS)
    assert report.inserted == BARS
    assert_store_equals_source(engine, hourly.bars[:BARS])


@pytest.mark.integration
def test_run_that_gives_up_resumes_on_the_next_run(engine: Engine, hourly: Series) -> None:
    faults = FaultPlan({4: "500", 5: "500"})
    with exchange(hourly, mid_bar(hourly.bars[-1]), faults) as base:
        with pytest.raises(ExchangeSourceError, match="gave up after 2 attempts"):
            ingest_exchange(engine, client(base), plan(hourly.bars[0].open_ms, attempts=2))
        partial = load_candles(engine, "binance", "BTC/USDT", "1h")
        assert len(partial) == 3 * PAGE  # three pages landed before the failure
        resumed = ingest_exchange(engine, client(base), plan(hourly.bars[0].open_ms))
    assert resumed.inserted == BARS - 3 * PAGE
    first_resumed = [line for line in faults.log if " ok " in line][3]
    assert f"startTime={hourly.bars[3 * PAGE].open_ms}" in first_resumed
    assert_store_equals_source(engine, hourly.bars[:BARS])


@pytest.mark.integration
def test_incremental_run_fetches_only_new_closed_bars(engine: Engine, hourly: Series) -> None:
    wall = mid_bar(hourly.bars[BARS // 2])
    with exchange(hourly, wall) as base:
        ingest_exchange(engine, client(base), plan(hourly.bars[0].open_ms))
        assert len(load_candles(engine, "binance", "BTC/USDT", "1h")) == BARS // 2
        wall.ms = mid_bar(hourly.bars[-1]).ms
        second = ingest_exchange(engine, client(base), plan(hourly.bars[0].open_ms))
        third = ingest_exchange(engine, client(base), plan(hourly.bars[0].open_ms))
    assert second.inserted == BARS - BARS // 2
    assert second.updated == 0
    assert third.received == 0
    assert_store_equals_source(engine, hourly.bars[:BARS])


@pytest.mark.integration
def test_recorded_binance_response_is_stored_exactly(engine: Engine) -> None:
    recorded = json.loads(
        (REPO / "tests/fixtures/exchange/binance_api_v3_klines_btcusdt_1m.json").read_text()
    )
    series = from_bars(
        "BTC/USDT", (Bar(int(k[0]), *(Decimal(v) for v in k[1:6])) for k in recorded), source="recorded"
    )
    fetch = FetchPlan(
        exchange="binance", symbol="BTC/USDT", timeframe="1m", since=from_epoch_ms(recorded[0][0])
    )
    after_last = Wall(recorded[-1][0] + int(timedelta(minutes=1) / timedelta(milliseconds=1)))
    with exchange(series, after_last) as base:
        report = ingest_exchange(engine, client(base), fetch)
    assert report.inserted == len(recorded) == 10
    stored = load_candles(engine, "binance", "BTC/USDT", "1m")
    for (_, row), bar in zip(stored.iterrows(), recorded, strict=True):
        assert [row[n] for n in ("open", "high", "low", "close", "volume")] == [Decimal(v) for v in bar[1:6]]
        assert str(row["open"]) == bar[1].rstrip("0").rstrip(".")


def test_unknown_exchange_and_symbol_are_named() -> None:
    with pytest.raises(ValueError, match="exchange: 'nope' is not a ccxt exchange id"):
        make_exchange("nope")
