"""Whether Caddy may send this Bento container traffic: the deployer's switch without a proxy reload.

Both colours are Caddy upstreams at all times, and Caddy's active health check asks each one for
``/admitted`` every second. The deployer admits a new container by creating the admission file inside it
(an exec through the Engine API) and withdraws the old one by removing its file; Caddy follows within a
check interval, with no configuration reload, so no client connection is ever closed by a switch. The
answer is a file's existence, not readiness: a worker that cannot reach the database keeps its informative
503 answers instead of vanishing behind Caddy's bare "no upstreams available".
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from alphapulse.settings import Settings

#: The admission file inside a Bento container the deployer starts (a path its user can write).
CONTAINER_ADMISSION_FILE = PurePosixPath("/tmp/alphapulse-admitted")  # noqa: S108


def admitted(settings: Settings) -> bool:
    """True while the admission file exists; always true where no admission file is configured (a Bento
    served alone, e.g. ``alphapulse serve`` or the dev checkout)."""
    path: Path | None = settings.serving_admission_file
    return path is None or path.exists()
