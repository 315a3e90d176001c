"""``bentoml serve`` of the repository's service on a free loopback port, for the integration tests that
talk to a real server: one way to start it, whatever each test configures."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from alphapulse.settings import Settings
from tests.support.processes import clean_environment, free_port, running, wait_until

REPO = Path(__file__).resolve().parents[2]
BENTOML = str(Path(sys.executable).with_name("bentoml"))


def answers(url: str) -> Callable[[], bool]:
    """Any HTTP answer at all (a 503 too): the server is up, whether or not it is ready."""

    def check() -> bool:
        try:
            httpx.get(url, timeout=2)
        except httpx.HTTPError:
            return False
        return True

    return check


@contextmanager
def bentoml_serve(
    settings: Settings,
    log: Path,
    *,
    until: Callable[[str], Callable[[], bool]],
    **variables: str,
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """The service on the settings' home and BentoML store, configured by ``variables`` (ALPHAPULSE_*),
    yielded as (base URL, process) once ``until(<base>/readyz)`` holds; stopped with every worker after."""
    port = free_port()
    env = clean_environment(
        ALPHAPULSE_HOME=str(settings.home),
        BENTOML_HOME=str(settings.bentoml_home),
        BENTOML_DO_NOT_TRACK="true",
        **variables,
    )
    command = [BENTOML, "serve", "bentos.service:AlphaPulse", "--host", "127.0.0.1", "--port", str(port)]
    base = f"http://127.0.0.1:{port}"
    with running(command, env=env, log=log, cwd=REPO) as process:
        try:
            wait_until(until(f"{base}/readyz"), timeout=180, what=f"the service at {base}")
        except TimeoutError:
            pytest.fail(f"service not up (exit {process.poll()}):\n{log.read_text()[-4000:]}")
        yield base, process
