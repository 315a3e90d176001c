"""Real processes for integration tests: started in their own process group, stopped by PID."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
import psutil

#: Variables of the tools a child process is configured through; a child starts without the caller's.
TOOL_PREFIXES = ("ALPHAPULSE_", "PREFECT_", "BENTOML_", "MLFLOW_")


def clean_environment(**variables: str) -> dict[str, str]:
    """This process's environment without AlphaPulse's and its tools' settings, plus ``variables``.

    A developer's or CI's own ``ALPHAPULSE_DATABASE_URL`` (say) must not leak into a child that is meant
    to run on a throwaway home.
    """
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(TOOL_PREFIXES)}
    return {**inherited, **variables}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running(
    command: Sequence[str], *, env: dict[str, str], log: Path, cwd: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``command`` for the duration of the block; its whole process group is stopped afterwards."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, env=env, cwd=cwd, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            yield process
        finally:
            stop(process)


def stop(process: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """Stop ``process``, its process group and every descendant, including any that left the group
    (a server's workers may start sessions of their own); what ignores SIGTERM for ``grace`` s is killed.

    Descendants are collected before the signal: once the parent is gone they are re-parented and can no
    longer be found from it.
    """
    try:
        family = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        family = []
    _signal_group(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        _signal_group(process.pid, signal.SIGKILL)
        process.wait(timeout=grace)
    _, alive = psutil.wait_procs(family, timeout=grace)
    for straggler in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            straggler.kill()
    psutil.wait_procs(alive, timeout=grace)


def _signal_group(pgid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


@contextmanager
def exit_on_termination() -> Iterator[None]:
    """SIGTERM and SIGHUP end this process like Ctrl-C does, through ``finally`` and context exits, so
    the servers it started (in sessions of their own, out of reach of a signal to its group) are stopped
    rather than orphaned when a supervisor or ``timeout`` stops it."""

    def leave(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = {signum: signal.signal(signum, leave) for signum in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def wait_until(check: Callable[[], bool], *, timeout: float, what: str, interval: float = 0.5) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")


def http_ok(url: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            return httpx.get(url, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    return check
