"""Exchange candles through ccxt: paginated backfill, resumable, retried, exact to the exchange's digits.

What ccxt gives: ``fetch_ohlcv`` returns ``[timestamp_ms, open, high, low, close, volume]`` lists whose
numbers are built by ``Exchange.number`` (``float`` by default) from the response, which ccxt's Python
JSON parser decodes with JSON numbers as floats. Both would lose the exchange's exact value, so
:func:`make_exchange` sets ``number = str`` and decodes JSON numbers as their literal text: Binance,
OKX, Coinbase and Kraken send prices as strings already, and for exchanges that send bare JSON numbers
the digits on the wire still survive. Every value then enters ``Decimal`` through ``alphapulse.money``.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import ccxt

from alphapulse.sources.rows import CandleRow, candle_row, from_epoch_ms, to_epoch_ms
from alphapulse.timeframes import timeframe_seconds

#: Failures worth another try: rate limits, 5xx, timeouts, resets (ccxt's OperationFailed family) and
#: bodies cut short in transit (BadResponse, raised by :func:`_fetch_page`).
RETRYABLE = (ccxt.OperationFailed, ccxt.BadResponse)


class ExchangeSourceError(RuntimeError):
    """The exchange could not deliver a page after every retry; stored pages stay stored."""


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0
    jitter: float = 0.25

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return float(min(retry_after, self.max_delay))
        backoff = min(self.base_delay * 2**attempt, self.max_delay)
        return float(backoff * (1 + random.uniform(0, self.jitter)))


@dataclass(frozen=True)
class FetchPlan:
    """One backfill or incremental fetch of one instrument."""

    exchange: str
    symbol: str
    timeframe: str
    since: datetime
    until: datetime | None = None
    page_limit: int = 1000
    retry: RetryPolicy = field(default_factory=RetryPolicy)


def make_exchange(
    exchange_id: str,
    *,
    api_base: str | None = None,
    timeout_ms: int = 10_000,
    options: dict[str, Any] | None = None,
) -> ccxt.Exchange:
    """A ccxt exchange configured for exact numbers, ccxt's own rate limiter, and an optional API base.

    ``api_base`` re-points every REST URL of the exchange at another host (a proxy, a testnet mirror,
    or a replay server), keeping the paths ccxt builds.
    """
    if exchange_id not in ccxt.exchanges:
        raise ValueError(f"exchange: {exchange_id!r} is not a ccxt exchange id (see ccxt.exchanges)")
    exchange: ccxt.Exchange = getattr(ccxt, exchange_id)(
        {
            "enableRateLimit": True,
            "timeout": timeout_ms,
            "options": options or {},
            "enableLastHttpResponse": True,
            "enableLastJsonResponse": True,
            "enableLastResponseHeaders": True,
        }
    )
    exchange.number = str
    exchange.on_json_response = _json_with_literal_numbers
    if api_base:
        exchange.urls["api"] = _rebase(exchange.urls["api"], api_base)
    return exchange


def _json_with_literal_numbers(body: str) -> Any:
    return json.loads(body, parse_float=str)


def _rebase(urls: Any, base: str) -> Any:
    if isinstance(urls, dict):
        return {key: _rebase(value, base) for key, value in urls.items()}
    if isinstance(urls, str) and urls.startswith("http"):
        target = urlsplit(base)
        parts = urlsplit(urls)
        return urlunsplit(
            (target.scheme, target.netloc, target.path.rstrip("/") + parts.path, parts.query, "")
        )
    return urls


def fetch_pages(
    exchange: ccxt.Exchange,
    plan: FetchPlan,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[list[CandleRow]]:
    """Yield closed candles page by page from ``plan.since``; callers store each page as it arrives.

    The bar still forming is never yielded: a bar is closed when its open time plus the timeframe is
    not after now, and now is read once, before the first page, from the exchange's own clock (see
    :func:`exchange_now`). A run thus takes every bar closed when it began; bars
    that close while it runs are the next run's. A run that dies mid-way loses nothing already yielded,
    and the next run resumes from the last stored bar.
    """
    step_ms = timeframe_seconds(plan.timeframe) * 1000
    cursor = to_epoch_ms(plan.since)
    stop = to_epoch_ms(plan.until) if plan.until else None
    _load_markets(exchange, plan, sleep)
    now_ms = to_epoch_ms(exchange_now(exchange, plan, sleep))
    while True:
        if cursor + step_ms > now_ms or (stop is not None and cursor >= stop):
            return
        raw: list[list[Any]] = _with_retries(
            partial(_fetch_page, exchange, plan, cursor),
            exchange,
            plan,
            sleep,
        )
        page = [
            bar
            for bar in raw
            if int(bar[0]) >= cursor
            and int(bar[0]) + step_ms <= now_ms
            and (stop is None or int(bar[0]) < stop)
        ]
        if not page:
            return
        yield [_to_row(bar, plan) for bar in page]
        cursor = int(page[-1][0]) + step_ms


def exchange_now(
    exchange: ccxt.Exchange, plan: FetchPlan, sleep: Callable[[float], None] = time.sleep
) -> datetime:
    """The exchange's clock (ccxt ``fetch_time``), which decides what the exchange still considers forming.

    The local clock is the wrong judge: a few seconds ahead of the exchange's, it would take a bar the
    exchange is still filling for closed and store its partial values; against a replay exchange it is
    not even the same era. The exchange's time is read before any page is requested, so every bar it
    calls closed was closed when the page was built. Only exchanges without a time endpoint fall back to
    the local clock; an unreadable time answer is retried like any failed request, never replaced.
    """
    if not exchange.has.get("fetchTime"):
        return datetime.now(UTC)
    return from_epoch_ms(_with_retries(partial(_fetch_time, exchange, plan), exchange, plan, sleep))


def _fetch_time(exchange: ccxt.Exchange, plan: FetchPlan) -> int:
    server_ms = exchange.fetch_time()
    if server_ms is None:
        raise ccxt.BadResponse(f"{plan.exchange}: the server time answer holds no time")
    return int(server_ms)


def _fetch_page(exchange: ccxt.Exchange, plan: FetchPlan, since: int) -> list[list[Any]]:
    page: list[list[Any]] = exchange.fetch_ohlcv(
        plan.symbol, plan.timeframe, since=since, limit=plan.page_limit
    )
    # ccxt answers a body that is not valid JSON (e.g. cut short in transit) with an empty list, which
    # would look like "no more candles" and end a backfill early; treat it as the transport error it is.
    if exchange.last_json_response is None and exchange.last_http_response:
        raise ccxt.BadResponse(f"{plan.exchange}: response is not valid JSON (truncated?)")
    return page


def _load_markets(exchange: ccxt.Exchange, plan: FetchPlan, sleep: Callable[[float], None]) -> None:
    _with_retries(exchange.load_markets, exchange, plan, sleep)
    if plan.symbol not in exchange.markets:
        raise ValueError(f"symbol: {plan.symbol!r} is not listed on {plan.exchange}")


def _with_retries(
    call: Callable[[], Any], exchange: ccxt.Exchange, plan: FetchPlan, sleep: Callable[[float], None]
) -> Any:
    last_error: Exception | None = None
    for attempt in range(plan.retry.attempts):
        try:
            return call()
        except RETRYABLE as error:
            last_error = error
            if attempt + 1 < plan.retry.attempts:
                sleep(plan.retry.delay(attempt, _retry_after(exchange)))
    what = f"{plan.exchange} {plan.symbol} {plan.timeframe}"
    raise ExchangeSourceError(
        f"{what}: gave up after {plan.retry.attempts} attempts: {last_error}"
    ) from last_error


def _retry_after(exchange: ccxt.Exchange) -> float | None:
    headers = getattr(exchange, "last_response_headers", None) or {}
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    try:
        return None if value is None else float(str(value))
    except ValueError:
        return None


def _to_row(bar: Sequence[Any], plan: FetchPlan) -> CandleRow:
    return candle_row(
        exchange=plan.exchange,
        symbol=plan.symbol,
        timeframe=plan.timeframe,
        open_time=from_epoch_ms(int(bar[0])),
        values=dict(zip(("open", "high", "low", "close", "volume"), bar[1:6], strict=True)),
    )
