"""The BentoML service configuration, tuned for a small CPU box (measured in ``bench/serve.py``).

- ``workers``: ``settings.serving_workers`` (default one per core); a prediction is a few microseconds
  of model work wrapped in a lot of Python, so processes, not threads, add throughput. On a box that
  also runs the load (or the pipeline), fewer workers than cores serve more.
- access logging off: one log line per request costs more than the model call (errors still log).
- tracing sample rate 0, and ``/signal`` excluded from OpenTelemetry's ASGI middleware.
- keep-alive connections recycled every ``settings.serving_recycle_requests`` responses of a worker
  when there are several workers (``RecycleConnections``): the workers share one listening socket and
  would otherwise keep whatever uneven split of connections a burst gave them.
- ``threads``: the sync endpoints (``/predict`` builds features) run in a small pool; the hot
  ``/signal`` is async and never leaves the event loop.
"""

from __future__ import annotations

import os
from typing import Any

from alphapulse.settings import get_settings

_settings = get_settings()
SERVICE_CONFIG: dict[str, Any] = {
    "workers": _settings.serving_workers,
    "threads": 4,
    "traffic": {"timeout": 30},
    "logging": {"access": {"enabled": False}},
    # The hot path skips OpenTelemetry's ASGI middleware altogether (it wraps every receive and send even
    # when nothing is sampled); the other endpoints keep their spans for operators who export traces.
    "tracing": {"sample_rate": 0.0, "excluded_urls": ["/signal"]},
}

#: Responses per worker between two connection recycles; one worker has nothing to balance.
RECYCLE_EVERY = _settings.serving_recycle_requests if _settings.serving_workers > 1 else 0


def respawn_crashed_workers() -> None:
    """Let BentoML replace a worker process that dies, also in a container.

    BentoML's container images set ``BENTOML_CONTAINERIZED``, and with it set its process manager does not
    respawn a dead worker, expecting an orchestrator to replace the whole container. Docker's restart
    policy only watches the container's main process, which stays up: a worker killed by the kernel's
    OOM killer or a crash would leave the serving container on fewer workers, or none, for good (seen:
    tests/deploy/test_stack.py kills one). BentoML reads the variable when it creates the workers, after
    it has imported the service, which calls this first; nothing else reads it.
    """
    os.environ.pop("BENTOML_CONTAINERIZED", None)
