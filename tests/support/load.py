"""A steady load of ``/signal`` from client threads, every answer and failure kept: what a rollout or a
rollback must serve through without a failed request.

Each client holds one keep-alive connection (as real clients do), so a proxy that closes idle
connections at the wrong moment shows up here. Resets (ReadError/RemoteProtocolError: a request written
onto an idle keep-alive connection at the instant the other side closed it, as a proxy reload does) are
kept apart from other failures (a 5xx, a timeout, a refused connection), so that a test says which kind
happened and how many.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

SYMBOL, TIMEFRAME = "BTC/USDT", "1h"


def plain_client() -> httpx.Client:
    return httpx.Client(timeout=30, trust_env=False)


@dataclass
class Load:
    url: str
    clients: int = 8
    #: Builds each client's connection (e.g. HTTPS with a CA to trust).
    client: Callable[[], httpx.Client] = plain_client
    #: Request extensions, e.g. ``{"sni_hostname": ...}`` for a site reached by its loopback address.
    extensions: dict[str, str] = field(default_factory=dict)
    #: Headers of every request, e.g. ``{"X-API-Key": token}``.
    headers: dict[str, str] = field(default_factory=dict)
    statuses: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    resets: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def _run(self) -> None:
        body = {"symbol": SYMBOL, "timeframe": TIMEFRAME}
        with self.client() as client:
            while not self._stop.is_set():
                try:
                    response = client.post(
                        self.url, json=body, headers=self.headers, extensions=self.extensions
                    )
                    self.statuses[str(response.status_code)] += 1
                    if response.status_code != 200:
                        self.failures.append(f"{response.status_code} {response.text[:200]}")
                except (httpx.ReadError, httpx.RemoteProtocolError) as reset:
                    self.statuses[type(reset).__name__] += 1
                    self.resets.append(repr(reset))
                except httpx.HTTPError as failed:
                    self.statuses[type(failed).__name__] += 1
                    self.failures.append(repr(failed))

    def start(self) -> None:
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(self.clients)]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    @property
    def total(self) -> int:
        return sum(self.statuses.values())
