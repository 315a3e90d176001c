"""Stopping a started process stops everything it started, even children that left its process group,
and a process killed with SIGTERM still stops the servers it started (bench.serve relies on it)."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import psutil

from tests.support.processes import running, wait_until

REPO = Path(__file__).resolve().parents[3]
#: A parent that starts a grandchild in a session of its own (out of reach of its group), prints the
#: grandchild's PID and sleeps.
PARENT = textwrap.dedent(
    """
    import subprocess, sys, time
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
    print(child.pid, flush=True)
    time.sleep(600)
    """
)


def started_pid(log: Path) -> int:
    wait_until(lambda: log.read_text().strip() != "", timeout=30, what="the grandchild's PID")
    return int(log.read_text().split()[0])


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_stop_reaches_children_outside_the_group(tmp_path: Path) -> None:
    log = tmp_path / "parent.log"
    with running([sys.executable, "-c", PARENT], env={}, log=log) as parent:
        grandchild = started_pid(log)
        assert not gone(grandchild)
    assert parent.poll() is not None
    wait_until(lambda: gone(grandchild), timeout=15, what="the grandchild to stop")


def test_sigterm_to_a_supervisor_still_stops_its_servers(tmp_path: Path) -> None:
    supervisor = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from tests.support.processes import exit_on_termination, running
        log = Path({str(tmp_path / "server.log")!r})
        with exit_on_termination(), running([sys.executable, "-c", {PARENT!r}], env={{}}, log=log):
            print("ready", flush=True)
            time.sleep(600)
        """
    )
    process = subprocess.Popen(
        [sys.executable, "-c", supervisor],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"
        grandchild = started_pid(tmp_path / "server.log")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 128 + signal.SIGTERM
        wait_until(lambda: gone(grandchild), timeout=15, what="the server's child to stop")
    finally:
        if process.poll() is None:
            process.kill()
