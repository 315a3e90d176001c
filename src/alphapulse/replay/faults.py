"""Planned faults on chosen kline requests, to rehearse a client against a misbehaving exchange.

The n-th ``/api/v3/klines`` request (counting from 1, over the server's life) can be answered with a
rate limit, a server error, a hang, a body cut short, or a reset connection: the failures a real
exchange produces and a client must survive without losing or duplicating a bar.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field

#: 429 with Retry-After: 1; 500; a delay of ``hang_seconds`` before a correct answer; the first half of
#: the body; a TCP reset before any answer.
FAULTS = ("429", "500", "hang", "truncate", "reset")


def parse_fault(text: str) -> tuple[int, str]:
    """``N=KIND`` as given on the command line, e.g. ``3=500``."""
    number, _, kind = text.partition("=")
    if not number.strip().isdigit() or int(number) < 1 or kind.strip() not in FAULTS:
        raise ValueError(
            f"fault: {text!r} is not N=KIND with N a kline request number from 1 and KIND one of "
            f"{', '.join(FAULTS)}"
        )
    return int(number), kind.strip()


@dataclass
class FaultPlan:
    """Which kline request gets which fault, and a line for each of the latest kline requests."""

    faults: dict[int, str] = field(default_factory=dict)
    hang_seconds: float = 10.0
    requests: int = 0
    log: deque[str] = field(default_factory=lambda: deque(maxlen=10_000))
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.faults.values()) - set(FAULTS))
        if unknown:
            raise ValueError(f"faults: unknown kind(s) {', '.join(unknown)}; known: {', '.join(FAULTS)}")

    def next_request(self, query: str) -> str | None:
        """Count one kline request and take the fault planned for it, if any."""
        with self._lock:
            self.requests += 1
            fault = self.faults.pop(self.requests, None)
            self.log.append(f"{self.requests} {fault or 'ok'} {query}")
            return fault

    @property
    def pending(self) -> dict[int, str]:
        with self._lock:
            return dict(self.faults)
