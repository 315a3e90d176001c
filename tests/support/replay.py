"""A Binance-compatible REST replay server on 127.0.0.1 for the real ccxt code path.

It serves klines pages cut from real candle rows (the bundled data or a recorded response), honouring
``startTime``/``endTime``/``limit`` as Binance does, and can inject faults into chosen requests.
``/api/v3/exchangeInfo`` is the one synthetic answer: a minimal listing in Binance's documented shape,
because ccxt must load markets before it fetches candles and no recorded exchangeInfo exists.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

FAULTS = ("429", "500", "hang", "truncate", "reset")


def exchange_info(symbols: Sequence[tuple[str, str, str]]) -> dict[str, Any]:
    return {
        "timezone": "UTC",
        "serverTime": int(time.time() * 1000),
        "rateLimits": [],
        "exchangeFilters": [],
        "symbols": [
            {
                "symbol": market_id,
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
                    {
                        "filterType": "PRICE_FILTER",
                        "minPrice": "0.01",
                        "maxPrice": "1000000",
                        "tickSize": "0.01",
                    },
                    {"filterType": "LOT_SIZE", "minQty": "0.00001", "maxQty": "9000", "stepSize": "0.00001"},
                ],
                "permissions": ["SPOT"],
                "permissionSets": [["SPOT"]],
            }
            for market_id, base, quote in symbols
        ],
    }


@dataclass
class ReplayState:
    """Klines rows per (symbol, interval), as Binance's 12-field arrays with the exchange's own strings."""

    klines: dict[tuple[str, str], list[list[Any]]]
    faults: dict[int, str] = field(default_factory=dict)
    hang_seconds: float = 3.0
    max_limit: int = 1000
    kline_requests: int = 0
    log: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        state = self.server.state
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == "/api/v3/exchangeInfo":
            symbols = sorted({(s, s[:-4], s[-4:]) for s, _ in state.klines})
            self._json(200, exchange_info(symbols))
            return
        if url.path != "/api/v3/klines":
            self._json(404, {"code": -1, "msg": f"no route {url.path}"})
            return
        with state.lock:
            state.kline_requests += 1
            fault = state.faults.pop(state.kline_requests, None)
        state.log.append(f"{state.kline_requests} {fault or 'ok'} {url.query}")
        body = json.dumps(self._page(state, query)).encode()
        if fault == "429":
            self._raw(429, b'{"code":-1003,"msg":"Too many requests."}', {"Retry-After": "1"})
        elif fault == "500":
            self._raw(500, b'{"code":-1001,"msg":"Internal error."}')
        elif fault == "hang":
            time.sleep(state.hang_seconds)
            self._raw(200, body)
        elif fault == "truncate":
            self._raw(200, body[: len(body) // 2])
        elif fault == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        else:
            self._raw(200, body)

    @staticmethod
    def _page(state: ReplayState, query: dict[str, str]) -> list[list[Any]]:
        rows = state.klines.get((query.get("symbol", ""), query.get("interval", "")), [])
        start = int(query.get("startTime", 0))
        end = int(query.get("endTime", 2**62))
        limit = min(int(query.get("limit", 500)), state.max_limit)
        return [r for r in rows if start <= int(r[0]) <= end][:limit]

    def _json(self, status: int, payload: Any) -> None:
        self._raw(status, json.dumps(payload).encode())

    def _raw(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: ReplayState


@contextmanager
def replay_server(state: ReplayState) -> Iterator[str]:
    """Serve ``state`` on an ephemeral 127.0.0.1 port; yields the base URL."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.state = state
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def kline(opened_ms: int, ohlcv: Sequence[str], step_ms: int) -> list[Any]:
    """One Binance 12-field kline array, the OHLCV text kept verbatim as the exchange sends it."""
    return [opened_ms, *ohlcv, opened_ms + step_ms - 1, "0", 0, "0", "0", "0"]
