"""Evidently, imported once per process under a lock.

Evidently is imported lazily (seconds of import time, needed only where a check runs), and the monitor
flow runs its per-symbol drift and outcome tasks in threads. Two threads importing Evidently's circular
package graph at once fail with "cannot import name ... from partially initialized module" (seen in the
stack test's market day, once outcomes had resolved); the lock makes the first import complete before
anyone else uses the package.
"""

from __future__ import annotations

import threading

_lock = threading.Lock()


def load_evidently() -> None:
    with _lock:
        import evidently  # noqa: F401
