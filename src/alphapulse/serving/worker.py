"""One worker's state, kept current by one background thread so that no request ever waits on the store.

The thread follows reloads asked for through other workers, checks that the store answers, and re-reads
the served models' features when due, and at once when the store is back after an outage or a served
model's features have not been read yet (a reload while the store was down). Readiness is what that
thread last saw, so probes never wait on a database either.
"""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from alphapulse.serving import metrics
from alphapulse.serving.health import StoreHealth
from alphapulse.serving.models import LiveModels, ModelSet
from alphapulse.serving.signals import SignalCache
from alphapulse.settings import Settings

LOGGER = logging.getLogger(__name__)

#: How often each worker checks that the store answers (``SELECT 1``): how soon ``/readyz`` turns 503
#: when the database goes away, and how soon a worker is ready again once it is back.
STORE_CHECK_SECONDS = 1.0


class Worker:
    """The models a worker serves, the features they answer ``/signal`` from, and the store's health.

    Constructing it loads the models from the BentoML store and starts the thread that follows the
    database and reads the models' features; it waits for that thread's first pass only as long as a
    connect may take, so a worker starts (unready) while the database is down and becomes ready by itself
    once the database answers and the features are read."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self._settings = settings
        self.features = SignalCache(engine)
        self._store = StoreHealth(engine, grace=STORE_CHECK_SECONDS * 3 + settings.database_connect_timeout)
        self._stopping = threading.Event()
        self._first_pass = threading.Event()
        self.models = LiveModels(settings, prepare=self._prepare)  # features: the thread's first pass
        self._thread = threading.Thread(target=self._follow, name="serving-store", daemon=True)
        self._thread.start()
        self._first_pass.wait(settings.database_connect_timeout + STORE_CHECK_SECONDS)

    @property
    def ready(self) -> bool:
        """Models loaded, each one's features read, and the store answering: cached states, so probes
        never wait on a database. (Without the features, a worker was ready between its first store check
        and its first read, and one the database left in between had nothing to answer ``/signal`` from.)"""
        served = self.models.current
        return bool(served) and self._store.reachable and self.features.covers(served.features())

    @property
    def store_reachable(self) -> bool:
        """Whether the background check last saw the store answer (never waits for it)."""
        return self._store.reachable

    def close(self) -> None:
        self._stopping.set()
        self._thread.join(self._settings.database_connect_timeout + 5)

    def _follow(self) -> None:
        """Every ``STORE_CHECK_SECONDS``: follow other workers' reloads, check the store, and re-read the
        features when due (see the module). Logs when the worker turns ready, the counterpart of the
        store's "not ready" line."""
        due = 0.0
        was_up = False
        was_ready = False
        while True:
            try:
                self.models.follow_others()
                up = self._store.check()
                unread = not self.features.covers(self.models.current.features())
                if up and (not was_up or unread or time.monotonic() >= due):
                    self._read(self.models.current)
                    due = time.monotonic() + self._settings.serving_refresh_seconds
                was_up = up
            except SQLAlchemyError as error:
                self._store.mark_down(error)
                was_up = False
            except Exception:
                LOGGER.exception("serving refresh failed; keeping what is loaded")
            ready = self.ready
            if ready and not was_ready:
                served = len(self.models.current)
                LOGGER.warning("this worker is ready: %d instrument(s), their features read", served)
            was_ready = ready
            self._first_pass.set()
            if self._stopping.wait(STORE_CHECK_SECONDS):
                return

    def _prepare(self, loaded: ModelSet) -> None:
        """Read a reload's features before it is served. With the store down the models are swapped in all
        the same (they come from the BentoML store); their features are read once it answers, and
        ``/signal`` says the store is unreachable meanwhile."""
        try:
            self._read(loaded)
        except SQLAlchemyError as error:
            self._store.mark_down(error)

    def _read(self, served: ModelSet) -> None:
        wanted = served.features()
        self.features.refresh(wanted)
        for (symbol, timeframe, _version), bar in self.features.read(wanted).items():
            metrics.signal_read(symbol, timeframe, bar.as_of, bar.stamp[1])
