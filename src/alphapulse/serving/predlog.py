"""Prediction logging off the request path: requests enqueue, one thread writes batches to the store.

A request only appends to an in-memory queue; the writer inserts whatever accumulated (up to
``batch_size`` rows, at least every ``interval`` seconds) in one transaction. A store outage therefore
never slows or fails an answer: the batch is dropped with a logged error, and the queue is bounded so
memory stays bounded too (overflowing rows are counted, not kept).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from alphapulse.store import PREDICTIONS

LOGGER = logging.getLogger(__name__)


class PredictionWriter:
    def __init__(
        self, engine: Engine, *, batch_size: int = 500, interval: float = 0.5, capacity: int = 100_000
    ) -> None:
        self._engine = engine
        self._batch_size = batch_size
        self._interval = interval
        self._queue: queue.Queue[Mapping[str, Any]] = queue.Queue(maxsize=capacity)
        self._stopping = threading.Event()
        self.dropped = 0
        self.written = 0
        self._thread = threading.Thread(target=self._run, name="prediction-writer", daemon=True)
        self._thread.start()

    def submit(self, row: Mapping[str, Any]) -> None:
        try:
            self._queue.put_nowait(row)
        except queue.Full:
            self.dropped += 1

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued, then stop (the service calls this on shutdown)."""
        self._stopping.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not (self._stopping.is_set() and self._queue.empty()):
            batch = self._take()
            if batch:
                self._write(batch)

    def _take(self) -> list[Mapping[str, Any]]:
        """The rows of one transaction: those arriving within ``interval`` of the first, up to a batch."""
        try:
            batch = [self._queue.get(timeout=self._interval)]
        except queue.Empty:
            return []
        deadline = time.monotonic() + self._interval
        while len(batch) < self._batch_size:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._stopping.is_set():
                remaining = 0
            try:
                batch.append(self._queue.get(timeout=remaining) if remaining else self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _write(self, batch: list[Mapping[str, Any]]) -> None:
        try:
            with self._engine.begin() as connection:
                connection.execute(PREDICTIONS.insert(), batch)
            self.written += len(batch)
        except SQLAlchemyError:
            self.dropped += len(batch)
            LOGGER.exception("could not log %d predictions; they are dropped", len(batch))
