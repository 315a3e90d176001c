"""Recorded bars: loading any form the CSV importer reads, the interval they lie on, exact aggregates."""

from __future__ import annotations

import decimal
from decimal import Decimal
from pathlib import Path

import pytest

from alphapulse.replay import Bar, ReplayDataError, from_bars, load_csv
from alphapulse.replay.series import aggregate

REPO = Path(__file__).resolve().parents[3]
MINUTE = 60_000
HOUR = 60 * MINUTE
MONDAY = 1_756_684_800_000  # 2025-09-01T00:00Z, a Monday


def bar(open_ms: int, o: str, h: str, low: str, c: str, v: str) -> Bar:
    return Bar(open_ms, Decimal(o), Decimal(h), Decimal(low), Decimal(c), Decimal(v))


def test_bundled_hourly_file_loads_exactly() -> None:
    series = load_csv(
        "BTC/USDT", REPO / "src/alphapulse/data/ohlcv/binance_btcusdt_1h_2020-10_2025-10.csv.gz"
    )
    assert series.interval == "1h"
    assert len(series.bars) == 43_780
    first = series.bars[0]  # 2020-10-07 18:00:00,10639.01,10667.43,10631.44,10664.11,1483.03011
    assert (first.open, first.high, first.low, first.close, first.volume) == tuple(
        Decimal(v) for v in ("10639.01", "10667.43", "10631.44", "10664.11", "1483.03011")
    )
    assert series.intervals() == ["1h", "2h", "4h", "6h", "8h", "12h", "1d", "1w"]


def test_minute_file_aggregates_to_hours_exactly() -> None:
    series = load_csv("BTC/USDT", REPO / "src/alphapulse/data/ohlcv/binance_btcusdt_perp_1m_2022-01.csv.gz")
    assert series.interval == "1m"
    minutes = [b for b in series.bars if b.open_ms >= 1_641_002_400_000][:120]  # 2022-01-01 02:00, two hours
    hours = aggregate(minutes, HOUR)
    assert [h.open_ms for h in hours] == [1_641_002_400_000, 1_641_006_000_000]
    first_hour = minutes[:60]
    assert hours[0] == Bar(
        1_641_002_400_000,
        first_hour[0].open,
        max(m.high for m in first_hour),
        min(m.low for m in first_hour),
        first_hour[-1].close,
        sum((m.volume for m in first_hour), Decimal(0)),
    )


def test_a_gap_stays_a_gap_and_partial_buckets_keep_their_bars() -> None:
    bars = [
        bar(MONDAY, "10", "12", "9", "11", "1.5"),
        bar(MONDAY + MINUTE, "11", "13", "10", "12", "2.25"),
        bar(MONDAY + 3 * HOUR + 5 * MINUTE, "20", "21", "19", "20.5", "0.001"),
    ]
    hours = aggregate(bars, HOUR)
    assert hours == [
        bar(MONDAY, "10", "13", "9", "12", "3.75"),
        bar(MONDAY + 3 * HOUR, "20", "21", "19", "20.5", "0.001"),
    ]


def test_weeks_start_on_monday() -> None:
    sunday = MONDAY - 24 * HOUR
    bars = [bar(sunday, "1", "1", "1", "1", "1"), bar(MONDAY, "2", "2", "2", "2", "2")]
    weeks = aggregate(bars, 7 * 24 * HOUR)
    assert [w.open_ms for w in weeks] == [MONDAY - 7 * 24 * HOUR, MONDAY]


def test_an_aggregate_that_would_round_is_refused() -> None:
    bars = [bar(MONDAY, "1", "1", "1", "1", "1E+50"), bar(MONDAY + MINUTE, "1", "1", "1", "1", "1E-40")]
    with pytest.raises(decimal.Inexact):
        aggregate(bars, HOUR)


def test_interval_is_inferred_from_the_grid_and_must_be_binance_s() -> None:
    assert from_bars("X/Y", [bar(MONDAY + i * 4 * HOUR, *["1"] * 5) for i in (0, 1, 5)]).interval == "4h"
    with pytest.raises(ReplayDataError, match="7000 ms grid, which is no Binance interval"):
        from_bars("X/Y", [bar(MONDAY, *["1"] * 5), bar(MONDAY + 7000, *["1"] * 5)])
    with pytest.raises(ReplayDataError, match="do not open on 1h boundaries"):
        from_bars("X/Y", [bar(MONDAY + MINUTE + i * HOUR, *["1"] * 5) for i in range(3)])
    with pytest.raises(ReplayDataError, match="at least 2"):
        from_bars("X/Y", [bar(MONDAY, *["1"] * 5)])


def test_the_same_bar_twice_is_kept_once_two_different_bars_are_refused() -> None:
    one, other = bar(MONDAY, *["1"] * 5), bar(MONDAY + HOUR, *["2"] * 5)
    assert from_bars("X/Y", [other, one, one]).bars == (one, other)
    with pytest.raises(ReplayDataError, match="two different bars open at"):
        from_bars("X/Y", [one, other, bar(MONDAY, *["3"] * 5)])


def test_symbols_must_be_unified_spot_symbols(tmp_path: Path) -> None:
    with pytest.raises(ReplayDataError, match="symbol: 'BTCUSDT' is not a unified spot symbol"):
        from_bars("BTCUSDT", [])
    with pytest.raises(ReplayDataError, match=r"missing\.csv"):
        load_csv("BTC/USDT", tmp_path / "missing.csv")


def test_shifting_keeps_the_grid() -> None:
    series = from_bars("X/Y", [bar(MONDAY + i * HOUR, *["1"] * 5) for i in range(3)])
    assert [b.open_ms for b in series.shifted(5 * HOUR).bars] == [MONDAY + (5 + i) * HOUR for i in range(3)]
    with pytest.raises(ValueError, match="not a whole number of 1h bars"):
        series.shifted(MINUTE)
