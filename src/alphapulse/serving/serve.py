"""``alphapulse serve``: the ``bentoml serve`` command line for the service in this checkout."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
SERVICE = "bentos.service:AlphaPulse"


def serve_command(host: str = "127.0.0.1", port: int = 3000) -> list[str]:
    """Run with ``Settings.tool_environment()`` applied, so the service reads the embedded store."""
    bentoml = str(Path(sys.executable).with_name("bentoml"))
    return [bentoml, "serve", SERVICE, "--host", host, "--port", str(port), "--working-dir", str(REPO)]
