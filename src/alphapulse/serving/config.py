"""The BentoML service configuration, tuned for a small CPU box (measured in ``bench/serve.py``).

- ``workers``: one server process per core; a prediction is a few microseconds of model work
  wrapped in a lot of Python, so processes, not threads, add throughput.
- access logging off: one log line per request costs more than the model call (errors still log).
- tracing sample rate 0: no span objects per request.
- ``threads``: the sync endpoints (``/predict`` builds features) run in a small pool; the hot
  ``/signal`` is async and never leaves the event loop.
"""

from __future__ import annotations

import os
from typing import Any

SERVICE_CONFIG: dict[str, Any] = {
    "workers": os.cpu_count() or 1,
    "threads": 4,
    "traffic": {"timeout": 30},
    "logging": {"access": {"enabled": False}},
    "tracing": {"sample_rate": 0.0},
}
