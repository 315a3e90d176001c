"""Prefect's local (ephemeral) API, started and awaited by AlphaPulse before a flow runs without a server.

Prefect starts its ephemeral API on the first client call and gives it 20 s to answer; on a fresh home
on a small or busy machine it needs longer (migrations of a new SQLite database), and the run dies with
"Timed out while attempting to connect to ephemeral Prefect API server". Starting it here, with the wait
of ``ALPHAPULSE_PREFECT_STARTUP_TIMEOUT_SECONDS``, makes the flows find it running; when even that wait
is not enough the error names the setting instead of quoting Prefect's internals.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from prefect.server.api.server import SubprocessASGIServer
from prefect.settings import PREFECT_API_URL, PREFECT_HOME, PREFECT_SERVER_EPHEMERAL_ENABLED

from alphapulse.settings import Settings

TIMEOUT_SETTING = "ALPHAPULSE_PREFECT_STARTUP_TIMEOUT_SECONDS"


class LocalApiError(RuntimeError):
    """Prefect's local API did not answer within the configured wait."""


@dataclass(frozen=True)
class LocalApi:
    url: str
    #: Wall seconds from launching the server process until its /health answered.
    startup_seconds: float


def start_local_api(settings: Settings) -> LocalApi | None:
    """Start Prefect's ephemeral API and wait for it; None when a Prefect server is configured instead.

    The server is Prefect's own singleton, so every client of this process uses it; Prefect stops it at
    exit.
    """
    if PREFECT_API_URL.value() or not PREFECT_SERVER_EPHEMERAL_ENABLED.value():
        return None
    timeout = settings.prefect_startup_timeout_seconds
    server = SubprocessASGIServer()
    started = time.perf_counter()
    try:
        server.start(timeout=timeout)
    except RuntimeError as error:
        server.stop()  # a half-started server must not outlive the failed run
        raise LocalApiError(
            f"Prefect's local API did not answer within {TIMEOUT_SETTING}={timeout} s "
            f"(PREFECT_HOME={PREFECT_HOME.value()}); raise {TIMEOUT_SETTING}, or set PREFECT_API_URL "
            "to a running Prefect server"
        ) from error
    return LocalApi(url=server.api_url, startup_seconds=time.perf_counter() - started)
