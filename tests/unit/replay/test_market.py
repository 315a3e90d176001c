"""Binance's kline paging semantics over the released history, the forming bar, and the other endpoints."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from alphapulse.replay import Bar, ReplayClock, ReplayMarket, from_bars

MINUTE = 60_000
HOUR = 60 * MINUTE
T0 = 1_756_684_800_000  # 2025-09-01T00:00Z
BARS = 2_000


class Wall:
    def __init__(self, ms: int) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


def hourly(i: int) -> Bar:
    """Bar i: distinct, exact values (open 100.i, high +1, low -1, close +0.5, volume 0.00i)."""
    base = Decimal(100) + Decimal(i) / 1000
    return Bar(T0 + i * HOUR, base, base + 1, base - 1, base + Decimal("0.5"), Decimal(i + 1) / 1000)


def market_at(
    now_ms: int, bars: list[Bar] | None = None, symbol: str = "BTC/USDT"
) -> tuple[ReplayMarket, Wall]:
    """A market whose market time is the wall reading (speed 1, origin = start)."""
    wall = Wall(now_ms)
    clock = ReplayClock(start_ms=now_ms, speed=1, origin_ms=now_ms, wall=wall)
    series = from_bars(symbol, bars or [hourly(i) for i in range(BARS)])
    return ReplayMarket([series], clock), wall


def klines(market: ReplayMarket, **query: Any) -> list[list[Any]]:
    status, payload = market.respond(
        "/api/v3/klines", {"symbol": "BTCUSDT", "interval": "1h", **{k: str(v) for k, v in query.items()}}
    )
    assert status == 200, payload
    return list(payload)


def opens(rows: list[list[Any]]) -> list[int]:
    return [int(r[0]) for r in rows]


def error(market: ReplayMarket, path: str = "/api/v3/klines", **query: Any) -> tuple[int, int, str]:
    status, payload = market.respond(path, {k: str(v) for k, v in query.items()})
    return status, payload["code"], payload["msg"]


MID_BAR_1500 = T0 + 1500 * HOUR + 25 * MINUTE  # bar 1500 is forming, 0..1499 closed


def test_start_time_is_an_inclusive_lower_bound_on_open_time() -> None:
    market, _ = market_at(MID_BAR_1500)
    assert opens(klines(market, startTime=T0 + 10 * HOUR, limit=3)) == [T0 + h * HOUR for h in (10, 11, 12)]
    assert opens(klines(market, startTime=T0 + 10 * HOUR + 1, limit=2)) == [T0 + h * HOUR for h in (11, 12)]


def test_end_time_is_an_inclusive_upper_bound_and_without_start_the_latest_bars_come() -> None:
    market, _ = market_at(MID_BAR_1500)
    assert opens(klines(market, endTime=T0 + 10 * HOUR, limit=3)) == [T0 + h * HOUR for h in (8, 9, 10)]
    assert opens(klines(market, endTime=T0 + 10 * HOUR - 1, limit=2)) == [T0 + h * HOUR for h in (8, 9)]
    both = klines(market, startTime=T0 + 5 * HOUR, endTime=T0 + 7 * HOUR, limit=100)
    assert opens(both) == [T0 + h * HOUR for h in (5, 6, 7)]
    assert opens(klines(market, startTime=T0 + 5 * HOUR, endTime=T0 + 9 * HOUR, limit=2)) == [
        T0 + 5 * HOUR,
        T0 + 6 * HOUR,
    ]


def test_limit_defaults_to_500_and_is_capped_at_1000() -> None:
    market, _ = market_at(MID_BAR_1500)
    latest = klines(market)
    assert len(latest) == 500
    assert opens(latest)[-1] == T0 + 1500 * HOUR  # the most recent bar is the forming one
    assert len(klines(market, startTime=T0, limit=5000)) == 1000


def test_only_bars_opened_by_market_time_exist_and_the_last_one_is_forming() -> None:
    market, _ = market_at(MID_BAR_1500)
    rows = klines(market, startTime=T0 + 1498 * HOUR, limit=10)
    assert opens(rows) == [T0 + h * HOUR for h in (1498, 1499, 1500)]
    closed = hourly(1499)
    assert rows[1][1:7] == ["101.499", "102.499", "100.499", "101.999", "1.5", closed.open_ms + HOUR - 1]
    forming = hourly(1500)
    assert rows[2][1:6] == ["101.5", "101.5", "101.5", "101.5", "0"]  # its open price only, nothing later
    assert rows[2][6] == forming.open_ms + HOUR - 1
    assert klines(market, startTime=T0 + 1501 * HOUR) == []


def test_history_grows_one_closed_bar_per_bar_of_market_time() -> None:
    market, wall = market_at(T0 + 1500 * HOUR)  # bar 1500 has just opened
    before = klines(market, startTime=T0 + 1499 * HOUR)
    assert opens(before) == [T0 + 1499 * HOUR, T0 + 1500 * HOUR]
    assert before[1][1:6] == ["101.5"] * 4 + ["0"]
    wall.ms += HOUR - 1
    assert (
        klines(market, startTime=T0 + 1499 * HOUR) == before
    )  # still forming a millisecond before its close
    wall.ms += 1
    after = klines(market, startTime=T0 + 1499 * HOUR)
    assert opens(after) == [T0 + h * HOUR for h in (1499, 1500, 1501)]
    assert after[1][1:6] == ["101.5", "102.5", "100.5", "102", "1.501"]  # now closed: its recorded values
    assert after[2][1:6] == ["101.501"] * 4 + ["0"]


def test_the_end_of_the_recording_is_the_end_of_new_bars() -> None:
    market, _ = market_at(T0 + (BARS + 50) * HOUR)
    rows = klines(market, limit=1)
    assert opens(rows) == [T0 + (BARS - 1) * HOUR]
    assert rows[0][4] == "102.499"  # the last recorded bar, closed, full values


def test_coarser_intervals_are_built_from_the_recording_and_the_forming_one_from_what_has_happened() -> None:
    minutes = [
        Bar(
            T0 + m * MINUTE, Decimal(10 + m), Decimal(11 + m), Decimal(9 + m), Decimal(10 + m), Decimal("0.1")
        )
        for m in range(130)
    ]
    market, _ = market_at(T0 + 61 * MINUTE + 30_000, minutes)  # minute 61 forming
    hours = klines(market, interval="1h", startTime=T0)
    assert opens(hours) == [T0, T0 + HOUR]
    assert hours[0][1:6] == ["10", "70", "9", "69", "6"]  # 60 minutes: 6.0 of volume
    assert hours[1][1:6] == ["70", "71", "69", "71", "0.1"]  # minute 60 closed; minute 61 opened at 71
    assert hours[1][6] == T0 + 2 * HOUR - 1


def test_a_coarser_bar_exists_once_one_of_its_source_bars_has_opened() -> None:
    late = [Bar(T0 + (5 + m) * MINUTE, *[Decimal(1)] * 5) for m in range(10)]  # the recording starts at :05
    market, wall = market_at(T0 + 2 * MINUTE, late)
    assert klines(market, interval="1h") == []
    wall.ms = T0 + 5 * MINUTE
    assert klines(market, interval="1h")[0][1:6] == ["1", "1", "1", "1", "0"]


def test_several_symbols_on_one_clock() -> None:
    wall = Wall(MID_BAR_1500)
    clock = ReplayClock(start_ms=wall.ms, speed=1, origin_ms=wall.ms, wall=wall)
    eth = [
        Bar(b.open_ms, b.open * 2, b.high * 2, b.low * 2, b.close * 2, b.volume)
        for b in map(hourly, range(BARS))
    ]
    market = ReplayMarket(
        [from_bars("BTC/USDT", map(hourly, range(BARS))), from_bars("ETH/USDT", eth)], clock
    )
    btc = klines(market, limit=1)
    other = klines(market, symbol="ETHUSDT", limit=2)
    assert opens(btc) == [opens(other)[-1]] == [T0 + 1500 * HOUR]
    assert other[0][4] == "203.998"
    listed = {s["symbol"]: s for s in market.exchange_info()["symbols"]}
    assert sorted(listed) == ["BTCUSDT", "ETHUSDT"]
    assert (listed["ETHUSDT"]["baseAsset"], listed["ETHUSDT"]["quoteAsset"]) == ("ETH", "USDT")


def test_shifted_history_is_served_in_market_time() -> None:
    wall = Wall(T0 + 10 * 24 * HOUR + 30 * MINUTE)
    clock = ReplayClock.starting(T0 + 100 * HOUR, speed=1, shift_to_now=True, grid_ms=HOUR, wall=wall)
    market = ReplayMarket([from_bars("BTC/USDT", map(hourly, range(BARS)))], clock)
    rows = klines(market, limit=2)
    assert opens(rows) == [wall.ms - 30 * MINUTE - HOUR, wall.ms - 30 * MINUTE]
    assert (
        rows[0][1] == "100.099"
    )  # recorded bar 99, the last closed one at --start, is the latest closed now
    assert market.respond("/api/v3/time", {}) == (200, {"serverTime": wall.ms})


def test_listing_derives_tick_and_lot_sizes_from_the_data() -> None:
    market, _ = market_at(MID_BAR_1500)
    info = market.exchange_info()
    assert info["serverTime"] == MID_BAR_1500
    (symbol,) = info["symbols"]
    filters = {f["filterType"]: f for f in symbol["filters"]}
    assert filters["PRICE_FILTER"]["tickSize"] == "0.001"
    assert filters["LOT_SIZE"]["stepSize"] == "0.001"
    status, futures = market.respond("/fapi/v1/exchangeInfo", {})
    assert status == 200
    assert futures["symbols"] == []


def test_errors_have_binance_codes() -> None:
    market, _ = market_at(MID_BAR_1500)
    assert error(market, symbol="NOPE", interval="1h") == (400, -1121, "Invalid symbol.")
    assert error(market, symbol="BTCUSDT", interval="7h")[:2] == (400, -1120)
    assert "it serves 1h, 2h" in error(market, symbol="BTCUSDT", interval="1m")[2]
    assert error(market, interval="1h")[:2] == (400, -1102)
    assert error(market, symbol="BTCUSDT", interval="1h", startTime="soon")[:2] == (400, -1100)
    assert error(market, symbol="BTCUSDT", interval="1h", limit=0)[:2] == (400, -1130)
    assert error(market, symbol="BTCUSDT", interval="1h", startTime=2, endTime=1) == (
        400,
        -1023,
        "Start time is greater than end time.",
    )
    assert error(market, symbol="BTCUSDT", interval="1h", timeZone="+08:00")[:2] == (400, -1130)
    assert error(market, path="/api/v3/depth")[0] == 404
    assert market.respond("/api/v3/ping", {}) == (200, {})
