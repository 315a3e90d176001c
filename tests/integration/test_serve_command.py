"""`alphapulse serve` becomes the BentoML server (same PID): stopping that PID leaves no server behind."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from tests.support.processes import clean_environment, free_port, stop, wait_until

pytestmark = pytest.mark.integration

BIN = Path(sys.executable).parent


def test_serve_replaces_itself_and_leaves_no_orphans(tmp_path: Path) -> None:
    port = free_port()
    env = clean_environment(ALPHAPULSE_HOME=str(tmp_path / "home"), ALPHAPULSE_SERVING_WORKERS="2")
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(
        [str(BIN / "alphapulse"), "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        server = psutil.Process(process.pid)
        wait_until(
            lambda: "bentoml" in " ".join(server.cmdline()) and len(server.children(recursive=True)) >= 2,
            timeout=180,
            what="alphapulse serve to become bentoml serve with its workers",
        )
        assert server.cmdline()[1:3] == [str(BIN / "bentoml"), "serve"]
        family = server.children(recursive=True)
        process.send_signal(signal.SIGTERM)  # only the PID a supervisor knows, not the group
        process.wait(timeout=60)
        _, alive = psutil.wait_procs(family, timeout=60)
        assert alive == [], [p.cmdline() for p in alive]
    finally:
        stop(process)
        log.close()
