"""The replay exchange over real HTTP: a threading ``http.server`` in front of :class:`ReplayMarket`.

The standard library's server is enough for a handful of clients, starts in milliseconds, and gives the
socket-level control that the ``reset`` and ``truncate`` faults need (an ASGI server hides the socket).
"""

from __future__ import annotations

import json
import logging
import socket
import struct
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from alphapulse.replay.faults import FaultPlan
from alphapulse.replay.market import ReplayMarket

log = logging.getLogger("alphapulse.replay")


class _Handler(BaseHTTPRequestHandler):
    server: ReplayHTTPServer
    protocol_version = "HTTP/1.1"
    timeout = 60  # idle keep-alive connections end after a minute

    def log_message(self, format: str, *args: Any) -> None:
        log.debug(format, *args)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = dict(parse_qsl(url.query))
        status, payload = self.server.market.respond(url.path, query)
        fault = self.server.faults.next_request(url.query) if url.path == "/api/v3/klines" else None
        body = json.dumps(payload, separators=(",", ":")).encode()
        log.info("GET %s -> %s%s", self.path, status, f" (fault: {fault})" if fault else "")
        if fault == "429":
            self._send(429, b'{"code":-1003,"msg":"Too many requests."}', {"Retry-After": "1"})
        elif fault == "500":
            self._send(500, b'{"code":-1001,"msg":"Internal error; unable to process your request."}')
        elif fault == "hang":
            time.sleep(self.server.faults.hang_seconds)
            self._send(status, body)
        elif fault == "truncate":
            self._send(status, body[: len(body) // 2])
        elif fault == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()  # closing with a zero linger sends RST, not FIN
            self.close_connection = True
        else:
            self._send(status, body)

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


class ReplayHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], market: ReplayMarket, faults: FaultPlan) -> None:
        super().__init__(address, _Handler)
        self.host = address[0]
        self.market = market
        self.faults = faults

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (a timeout, a reset) is routine here; anything else is logged in full."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            log.debug("client %s went away", client_address)
        else:
            log.exception("error answering %s", client_address)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.server_address[1]}"


@contextmanager
def replay_server(
    market: ReplayMarket, faults: FaultPlan | None = None, *, host: str = "127.0.0.1", port: int = 0
) -> Iterator[ReplayHTTPServer]:
    """Serve ``market`` from a background thread for the block (port 0: any free port)."""
    server = ReplayHTTPServer((host, port), market, faults or FaultPlan())
    thread = threading.Thread(target=server.serve_forever, name="replay-exchange", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
