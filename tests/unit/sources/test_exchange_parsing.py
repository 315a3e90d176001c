"""ccxt parsing of real recorded responses keeps every digit (number=str, JSON numbers as text)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from alphapulse.money import to_decimal
from alphapulse.sources.exchange import make_exchange

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures/exchange"


def raw_text_values(path: Path) -> list[list[str]]:
    """Each candle's OHLCV exactly as written in the recorded file (parsed with numbers as text)."""
    data = json.loads(path.read_text(), parse_float=str, parse_int=str)
    if "result" in data:  # Kraken: [time, open, high, low, close, vwap, volume, count]
        bars = next(v for k, v in data["result"].items() if k != "last")
        return [[b[1], b[2], b[3], b[4], b[6]] for b in bars]
    if "candles" in data:  # Coinbase Advanced
        return [[c["open"], c["high"], c["low"], c["close"], c["volume"]] for c in data["candles"]]
    return [[b[1], b[2], b[3], b[4], b[5]] for b in data["data"]]  # OKX


@pytest.mark.parametrize(
    ("exchange_id", "fixture", "market"),
    [
        ("kraken", "kraken_public_ohlc_xbtusdt_1m.json", "XBTUSDT"),
        ("coinbase", "coinbase_adv_candles_btcusd_1h.json", None),
        ("okx", "okx_candles.json", None),
    ],
)
def test_recorded_responses_parse_exactly(exchange_id: str, fixture: str, market: str | None) -> None:
    path = FIXTURES / fixture
    exchange = make_exchange(exchange_id)
    body: Any = exchange.on_json_response(path.read_text())
    if exchange_id == "kraken":
        body = body["result"][market]
    elif exchange_id == "coinbase":
        body = body["candles"]
    else:
        body = body["data"]
    parsed = exchange.parse_ohlcvs(body, None, "1m", None, None)
    expected = raw_text_values(path)
    assert len(parsed) == len(expected)
    got = {tuple(to_decimal(v) for v in bar[1:6]) for bar in parsed}
    want = {tuple(Decimal(v) for v in values) for values in expected}
    assert got == want
    assert all(isinstance(v, str) for bar in parsed for v in bar[1:6]), "ccxt must hand over text, not floats"
