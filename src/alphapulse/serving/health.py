"""Whether the store answers, as a background check last saw it: readiness never waits for a database.

A worker must stay up while the database is down (it still has its models and its latest features
in memory) and say so on ``/readyz`` at once. So the readiness probe only reads a timestamp: the last
time a ``SELECT 1`` succeeded in the worker's background thread. A check that hangs (a database host
that drops packets, a server that stopped answering) stops refreshing that timestamp, so the worker
turns unready within ``grace`` seconds even then; connect attempts are bounded by
``settings.database_connect_timeout``.
"""

from __future__ import annotations

import logging
import time

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

LOGGER = logging.getLogger(__name__)


class StoreHealth:
    def __init__(self, engine: Engine, *, grace: float) -> None:
        self._engine = engine
        self._grace = grace
        self._ok_at: float | None = None
        self._was_up = True  # so the first failure is logged

    @property
    def reachable(self) -> bool:
        """The store answered within the last ``grace`` seconds (no database call here)."""
        ok_at = self._ok_at
        return ok_at is not None and time.monotonic() - ok_at <= self._grace

    def check(self) -> bool:
        """One ``SELECT 1``; logs only the transitions, so an outage is one line, not one per check."""
        try:
            with self._engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError as error:
            self.mark_down(error)
            return False
        self.mark_up()
        return True

    def mark_up(self) -> None:
        if not self._was_up:
            LOGGER.warning("the store answers again")
        self._was_up = True
        self._ok_at = time.monotonic()

    def mark_down(self, error: Exception) -> None:
        if self._was_up:
            LOGGER.error("the store is unreachable, so this worker is not ready: %s", first_line(error))
        self._was_up = False
        self._ok_at = None


def first_line(error: Exception) -> str:
    """A database error's gist: drivers append SQL, parameters and links on further lines."""
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
