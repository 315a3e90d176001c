"""Which clock decides that a bar has closed: the exchange's, the local one only without a time endpoint."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alphapulse.sources.exchange import (
    ExchangeSourceError,
    FetchPlan,
    RetryPolicy,
    exchange_now,
    make_exchange,
)

PLAN = FetchPlan(
    exchange="binance",
    symbol="BTC/USDT",
    timeframe="1h",
    since=datetime(2024, 1, 1, tzinfo=UTC),
    retry=RetryPolicy(attempts=2, base_delay=0, max_delay=0),
)


def test_an_exchange_without_a_time_endpoint_falls_back_to_the_local_clock() -> None:
    bitstamp = make_exchange("bitstamp")
    assert not bitstamp.has.get("fetchTime")
    assert abs(exchange_now(bitstamp, PLAN, sleep=lambda _: None) - datetime.now(UTC)) < timedelta(seconds=5)


def test_a_time_answer_without_a_time_is_retried_never_replaced_by_the_local_clock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    binance = make_exchange("binance")
    calls: list[None] = []
    monkeypatch.setattr(binance, "fetch_time", lambda: calls.append(None))
    with pytest.raises(ExchangeSourceError, match="gave up after 2 attempts: binance: the server time"):
        exchange_now(binance, PLAN, sleep=lambda _: None)
    assert len(calls) == 2
