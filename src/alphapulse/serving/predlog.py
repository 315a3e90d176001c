"""Prediction logging off the request path: requests append to memory, one thread writes batches.

Every answer is logged as one row of ``predictions`` (:func:`prediction_row`): the challenger's under
the champion's ``request_id``, so shadow answers pair up with the one returned.

A request only appends a row to a deque (no lock, no thread wake-up: waking the writer on every row
made the two threads trade the GIL once per request). The writer wakes every ``interval`` seconds and
inserts whatever accumulated, ``batch_size`` rows per transaction. A store outage therefore never
slows or fails an answer: the batch is dropped with a logged error, and the backlog is bounded so
memory stays bounded too (overflowing rows are counted, not kept).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from alphapulse.serving.health import first_line
from alphapulse.serving.schemas import Prediction, Role
from alphapulse.store import PREDICTIONS

LOGGER = logging.getLogger(__name__)


def prediction_row(
    answer: Prediction, *, role: Role, window_start: datetime, created_at: datetime, client: str
) -> dict[str, Any]:
    """The ``predictions`` row of one answer; ``window_start`` is the first bar its features read,
    ``client`` the id of the API key that asked."""
    return {
        "request_id": answer.request_id,
        "client": client,
        "role": role,
        "symbol": answer.symbol,
        "timeframe": answer.timeframe,
        "as_of": answer.as_of,
        "window_start": window_start,
        "window_end": answer.as_of,
        "direction": answer.direction,
        "probability_up": answer.probability_up,
        "expected_return": answer.expected_return,
        "reference_price": answer.reference_price,
        "model_name": answer.model.name,
        "model_version": answer.model.version,
        "feature_set": answer.model.feature_set,
        "latency_ms": answer.latency_ms,
        "created_at": created_at,
    }


class PredictionWriter:
    def __init__(
        self, engine: Engine, *, batch_size: int = 1000, interval: float = 0.5, capacity: int = 100_000
    ) -> None:
        self._engine = engine
        self._batch_size = batch_size
        self._interval = interval
        self._capacity = capacity
        self._pending: deque[Mapping[str, Any]] = deque()
        self._overflow = threading.Lock()
        self._stopping = threading.Event()
        self.dropped = 0
        self.written = 0
        self._thread = threading.Thread(target=self._run, name="prediction-writer", daemon=True)
        self._thread.start()

    def submit(self, row: Mapping[str, Any]) -> None:
        if len(self._pending) < self._capacity:
            self._pending.append(row)
            return
        with self._overflow:
            self.dropped += 1

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued, then stop (the service calls this on shutdown)."""
        self._stopping.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stopping.wait(self._interval):
            self._drain()
        self._drain()

    def _drain(self) -> None:
        """Write the backlog; only this thread takes from the deque, so its length only grows meanwhile."""
        while self._pending:
            take = min(self._batch_size, len(self._pending))
            self._write([self._pending.popleft() for _ in range(take)])

    def _write(self, batch: list[Mapping[str, Any]]) -> None:
        try:
            with self._engine.begin() as connection:
                connection.execute(PREDICTIONS.insert(), batch)
            self.written += len(batch)
        except SQLAlchemyError as error:
            with self._overflow:
                self.dropped += len(batch)
            # One line per batch: during an outage a traceback every half second would bury the log.
            LOGGER.error("could not log %d predictions; they are dropped: %s", len(batch), first_line(error))
