"""What the replay exchange answers: Binance's public REST endpoints over recorded bars and a clock.

Transport-free, so the answers are testable without HTTP: :meth:`ReplayMarket.respond` maps a path and
its query to a status and a JSON payload. The kline semantics are Binance's own (``GET /api/v3/klines``):
bars are identified by their open time; ``startTime`` and ``endTime`` are inclusive bounds on it;
``limit`` defaults to 500 and is capped at 1000; with no ``startTime`` the most recent ``limit`` bars up
to ``endTime`` (or now) are returned. Only bars that have opened by market time exist, and the last one
may still be forming: it is served as built from what has happened so far, never from its recorded
future (see :func:`ReplayMarket.forming`).
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from alphapulse.money import to_text
from alphapulse.replay.clock import ReplayClock
from alphapulse.replay.series import INTERVALS_MS, Bar, Series, aggregate, merge

DEFAULT_LIMIT = 500
MAX_LIMIT = 1000
#: Every interval Binance accepts, including the two the replay cannot build (3d, 1M).
BINANCE_INTERVALS = (*INTERVALS_MS, "3d", "1M")


class BinanceError(Exception):
    """An error answer in Binance's shape: HTTP status, ``{"code": ..., "msg": ...}``."""

    def __init__(self, status: int, code: int, msg: str) -> None:
        super().__init__(msg)
        self.status = status
        self.code = code
        self.msg = msg


def market_id(symbol: str) -> str:
    return symbol.replace("/", "")


@dataclass(frozen=True)
class _View:
    """One symbol at one interval: every bar of the recording, with their open times for bisection."""

    step_ms: int
    opens: list[int]
    bars: list[Bar]


class ReplayMarket:
    """Several symbols' recorded bars released by one clock; shifted once into market time here."""

    def __init__(self, series: Sequence[Series], clock: ReplayClock) -> None:
        if not series:
            raise ValueError("series: nothing to replay")
        self.clock = clock
        self.series: dict[str, Series] = {}
        for one in series:
            key = market_id(one.symbol)
            if key in self.series:
                raise ValueError(f"series: {one.symbol} given twice")
            self.series[key] = one.shifted(clock.shift_ms)
        self._views: dict[tuple[str, str], _View] = {}
        self._lock = threading.Lock()
        self._listing = [self._symbol_info(s) for s in self.series.values()]

    def respond(self, path: str, query: Mapping[str, str]) -> tuple[int, Any]:
        """The status and JSON payload Binance would send for ``GET path?query``."""
        try:
            if path == "/api/v3/klines":
                return 200, self.klines(query)
            if path == "/api/v3/time":
                return 200, {"serverTime": self.clock.now()}
            if path == "/api/v3/ping":
                return 200, {}
            if path == "/api/v3/exchangeInfo":
                return 200, self.exchange_info()
            if path in ("/fapi/v1/exchangeInfo", "/dapi/v1/exchangeInfo"):
                # ccxt's binance loads futures markets too by default; the replay lists none.
                return 200, {**self._info_header(), "assets": [], "symbols": []}
        except BinanceError as error:
            return error.status, {"code": error.code, "msg": error.msg}
        return 404, {"code": -1, "msg": f"the replay exchange serves no {path}"}

    def klines(self, query: Mapping[str, str]) -> list[list[Any]]:
        series, interval = self._instrument(query)
        start = _optional_int(query, "startTime")
        end = _optional_int(query, "endTime")
        requested = _optional_int(query, "limit")
        if requested == 0:
            raise BinanceError(400, -1130, "Data sent for parameter 'limit' is not valid.")
        limit = min(requested or DEFAULT_LIMIT, MAX_LIMIT)
        if start is not None and end is not None and start > end:
            raise BinanceError(400, -1023, "Start time is greater than end time.")
        if query.get("timeZone", "0") not in ("0", "+00:00", "00:00"):
            raise BinanceError(400, -1130, "Data sent for parameter 'timeZone' is not valid.")
        now = self.clock.now()
        view = self._view(series, interval)
        released = bisect_right(view.opens, now)
        high = released if end is None else bisect_right(view.opens, end, 0, released)
        if start is None:
            low = max(0, high - limit)
        else:
            low = bisect_left(view.opens, start, 0, released)
            high = min(high, low + limit)
        bars = view.bars[low:high]
        if bars and high == released and bars[-1].open_ms + view.step_ms > now:
            forming = self.forming(series, interval, bars[-1].open_ms, now)
            bars = [*bars[:-1], forming] if forming else bars[:-1]
        return [_kline(bar, view.step_ms) for bar in bars]

    def forming(self, series: Series, interval: str, open_ms: int, now: int) -> Bar | None:
        """The bar that opened at ``open_ms`` as it stands at ``now``: its source bars closed so far, and
        the source bar still forming as it opened (its open price, no volume). None while none of its
        source bars has opened yet (a recording that starts mid-bar)."""
        source = self._view(series, series.interval)
        group = source.bars[bisect_left(source.opens, open_ms) : bisect_right(source.opens, now)]
        if not group:
            return None
        if group[-1].open_ms + source.step_ms > now:
            group[-1] = group[-1].just_opened()
        return merge(group, INTERVALS_MS[interval])

    def exchange_info(self) -> dict[str, Any]:
        return {**self._info_header(), "symbols": self._listing}

    def _info_header(self) -> dict[str, Any]:
        return {"timezone": "UTC", "serverTime": self.clock.now(), "rateLimits": [], "exchangeFilters": []}

    def _symbol_info(self, series: Series) -> dict[str, Any]:
        base, quote = series.symbol.split("/")
        tick = _finest_step(v for bar in series.bars for v in (bar.open, bar.high, bar.low, bar.close))
        lot = _finest_step(bar.volume for bar in series.bars)
        return {
            "symbol": market_id(series.symbol),
            "status": "TRADING",
            "baseAsset": base,
            "baseAssetPrecision": 8,
            "quoteAsset": quote,
            "quotePrecision": 8,
            "quoteAssetPrecision": 8,
            "orderTypes": ["LIMIT", "MARKET"],
            "icebergAllowed": True,
            "ocoAllowed": True,
            "isSpotTradingAllowed": True,
            "isMarginTradingAllowed": False,
            "filters": [
                {"filterType": "PRICE_FILTER", "minPrice": tick, "maxPrice": "1000000000", "tickSize": tick},
                {"filterType": "LOT_SIZE", "minQty": lot, "maxQty": "1000000000", "stepSize": lot},
            ],
            "permissions": ["SPOT"],
            "permissionSets": [["SPOT"]],
        }

    def _instrument(self, query: Mapping[str, str]) -> tuple[Series, str]:
        symbol = _required(query, "symbol")
        interval = _required(query, "interval")
        series = self.series.get(symbol)
        if series is None:
            raise BinanceError(400, -1121, "Invalid symbol.")
        if interval not in BINANCE_INTERVALS:
            raise BinanceError(400, -1120, "Invalid interval.")
        if interval not in series.intervals():
            raise BinanceError(
                400,
                -1120,
                f"Invalid interval. The replay holds {series.interval} bars of {symbol}: it serves "
                f"{', '.join(series.intervals())}.",
            )
        return series, interval

    def _view(self, series: Series, interval: str) -> _View:
        key = (series.symbol, interval)
        with self._lock:
            view = self._views.get(key)
            if view is None:
                step = INTERVALS_MS[interval]
                bars = list(series.bars) if interval == series.interval else aggregate(series.bars, step)
                view = _View(step_ms=step, opens=[bar.open_ms for bar in bars], bars=bars)
                self._views[key] = view
            return view


def _kline(bar: Bar, step_ms: int) -> list[Any]:
    """Binance's 12-field kline; the fields the recording does not hold (quote volume, trade counts,
    taker volumes) are zero."""
    prices = [to_text(v) for v in (bar.open, bar.high, bar.low, bar.close, bar.volume)]
    return [bar.open_ms, *prices, bar.open_ms + step_ms - 1, "0", 0, "0", "0", "0"]


def _finest_step(values: Any) -> str:
    """The smallest power of ten every value is a multiple of (the data's tick or lot size)."""
    digits = max((max(0, -int(v.as_tuple().exponent)) for v in values), default=0)
    return to_text(Decimal(1).scaleb(-digits))


def _required(query: Mapping[str, str], name: str) -> str:
    value = query.get(name, "")
    if not value:
        raise BinanceError(
            400, -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
        )
    return value


def _optional_int(query: Mapping[str, str], name: str) -> int | None:
    value = query.get(name)
    if value is None:
        return None
    if not value.isdigit() or len(value) > 20:
        raise BinanceError(
            400, -1100, f"Illegal characters found in parameter '{name}'; legal range is '^[0-9]{{1,20}}$'."
        )
    return int(value)
