"""A private, throwaway PostgreSQL cluster for tests that stop and restart the database itself.

The shared server on :5432 belongs to everyone on the machine; a fault test needs one of its own:
``initdb`` in a temporary directory, ``pg_ctl start``/``stop`` on a free port on 127.0.0.1. PostgreSQL
refuses to run as root, so as root every command runs as the ``postgres`` OS user (``runuser``), which
then owns the directory.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from tests.support.processes import free_port

BINARIES = Path("/usr/lib/postgresql")
SERVER_USER = "postgres"


def server_binaries() -> Path | None:
    """The newest installed PostgreSQL's bin directory (Debian's layout), if there is one."""
    found = sorted(BINARIES.glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    return found[-1].parent if found else None


class PgCluster:
    def __init__(self, bindir: Path, root: Path, port: int) -> None:
        self.bindir = bindir
        self.root = root
        self.data = root / "data"
        self.port = port
        self.log = root / "server.log"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> None:
        dsn = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "-o", options, "start"
        )

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    @property
    def running(self) -> bool:
        status = subprocess.run(
            [*self._as_server(), str(self.bindir / "pg_ctl"), "-D", str(self.data), "status"],
            capture_output=True,
            check=False,
            cwd="/",
        )
        return status.returncode == 0

    def _run(self, program: str, *arguments: str) -> None:
        command = [*self._as_server(), str(self.bindir / program), *arguments]
        # cwd "/": the server user cannot enter the test's own (root-only) temporary folders.
        result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=120, cwd="/")
        if result.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            raise RuntimeError(f"{program} failed ({result.returncode}): {result.stderr}\n{log[-2000:]}")

    @staticmethod
    def _as_server() -> list[str]:
        return ["runuser", "-u", SERVER_USER, "--"] if os.geteuid() == 0 else []


@contextmanager
def temporary_cluster(bindir: Path) -> Iterator[PgCluster]:
    """A new cluster, started; stopped and deleted afterwards whatever the test did to it."""
    root = Path(tempfile.mkdtemp(prefix="alphapulse-pg-"))
    if os.geteuid() == 0:
        account = pwd.getpwnam(SERVER_USER)
        os.chown(root, account.pw_uid, account.pw_gid)
    cluster = PgCluster(bindir, root, free_port())
    try:
        cluster._run(
            "initdb", "-D", str(cluster.data), "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"
        )
        cluster.start()
        yield cluster
    finally:
        if cluster.data.exists() and cluster.running:
            cluster.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)
