"""A webhook receiver that keeps every request body it gets, and answers them as a JSON list on GET.

In-process on 127.0.0.1 (:func:`webhook_receiver`), or as a script in a container of the stack test,
where Alertmanager posts to it: ``python webhook.py HOST PORT``.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _Receiver(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        self.server.bodies.append(self.rfile.read(length).decode("utf-8", "replace"))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        data = json.dumps(self.server.bodies).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    bodies: list[str]


@contextmanager
def webhook_receiver() -> Iterator[tuple[str, list[str]]]:
    """Yields (url, bodies); ``bodies`` fills as requests arrive."""
    server = _Server(("127.0.0.1", 0), _Receiver)
    server.bodies = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", server.bodies
    finally:
        server.shutdown()
        server.server_close()


if __name__ == "__main__":
    host, port = sys.argv[1], int(sys.argv[2])
    receiver = _Server((host, port), _Receiver)
    receiver.bodies = []
    receiver.serve_forever()
