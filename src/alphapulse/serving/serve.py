"""``alphapulse serve``: the ``bentoml serve`` command line for the installed service."""

from __future__ import annotations

import sys
from pathlib import Path

from alphapulse.serving.bento import package_dir

SERVICE = "bentos.service:AlphaPulse"


def serve_command(host: str = "127.0.0.1", port: int = 3000) -> list[str]:
    """Run with ``Settings.tool_environment()`` applied, so the service reads the embedded store. The
    working directory is the one holding the ``bentos`` package: the checkout, or site-packages."""
    bentoml = str(Path(sys.executable).with_name("bentoml"))
    working_dir = str(package_dir("bentos").parent)
    return [bentoml, "serve", SERVICE, "--host", host, "--port", str(port), "--working-dir", working_dir]
