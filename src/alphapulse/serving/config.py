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
