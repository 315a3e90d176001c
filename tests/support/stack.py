"""The production compose stack, brought up for real on a test's engine, on loopback.

``deploy/docker-compose.yml`` with ``deploy/docker-compose.dryrun.yml`` (replay exchange, S3 stand-in,
Caddy's internal CA) and one more override the test writes (its replay file, Caddy's site names on the
edge network). Site names are ``*.alphapulse.test``: inside the stack they resolve to Caddy (network
aliases, so a container on the edge network talks to Caddy as CI talks to the server); from the host, a
:class:`Site` connects to Caddy's loopback port and names the site in SNI and ``Host``, verifying the
certificate against Caddy's root. Works with Compose v2 (``docker compose``) and v1 (``docker-compose``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.support.containers import REPO, Engine

DEPLOY = REPO / "deploy"
COMPOSE_FILES = (DEPLOY / "docker-compose.yml", DEPLOY / "docker-compose.dryrun.yml")
#: The stack's public names (the site addresses of the .env) and Caddy's CA root in its data volume.
DOMAINS = {
    "api": "api.alphapulse.test",
    "prefect": "prefect.alphapulse.test",
    "mlflow": "mlflow.alphapulse.test",
    "grafana": "grafana.alphapulse.test",
}
CA_ROOT = Path("caddy/data/caddy/pki/authorities/local/root.crt")
#: Directories of the data volume and their owners (cloud-init creates them the same way on the server).
DATA_DIRS = {
    "postgres": 70,
    "deployer": 1000,
    "caddy/data": 1000,
    "caddy/config": 1000,
    "prometheus": 10002,
    "alertmanager": 10002,
    "grafana": 472,
}


def compose_command() -> list[str]:
    """``docker compose`` where the v2 plugin exists (production hosts, GitHub's runners), else v1."""
    probe = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True, check=False)
    if probe.returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    raise RuntimeError("neither `docker compose` nor `docker-compose` is installed")


@dataclass
class Compose:
    engine: Engine
    project: str
    env_file: Path
    files: Sequence[Path]
    root: Path
    command: list[str] = field(default_factory=compose_command)

    def __call__(
        self, *args: str, timeout: float = 1800, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        files = [part for path in self.files for part in ("-f", str(path))]
        result = subprocess.run(
            [*self.command, "--project-name", self.project, "--env-file", str(self.env_file), *files, *args],
            cwd=DEPLOY,
            env=self.engine.env(COMPOSE_HTTP_TIMEOUT="600"),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            raise RuntimeError(
                f"compose {' '.join(args)} exited {result.returncode}:\n{result.stdout[-4000:]}\n"
                f"{result.stderr[-6000:]}"
            )
        return result

    def container(self, service: str) -> str:
        """The container id of a service (its first replica)."""
        found = self("ps", "-q", service).stdout.split()
        if not found:
            raise LookupError(f"no container for service {service}")
        return found[0]

    def logs(self, *services: str, tail: int = 80) -> str:
        result = self("logs", "--no-color", "--tail", str(tail), *services, check=False, timeout=120)
        return result.stdout + result.stderr

    def health(self) -> dict[str, str]:
        """Every container's state, as ``docker inspect`` says (``healthy``, ``running``, ``exited 0``...)."""
        ids = self("ps", "-a", "-q").stdout.split()
        if not ids:
            return {}
        inspected = json.loads(self.engine.docker("inspect", *ids).stdout)
        states = {}
        for item in inspected:
            state = item["State"]
            name = item["Config"]["Labels"].get("com.docker.compose.service", item["Name"])
            if state.get("Health"):
                states[name] = state["Health"]["Status"]
            elif state["Status"] == "exited":
                states[name] = f"exited {state['ExitCode']}"
            else:
                states[name] = state["Status"]
        return states

    def wait_healthy(self, services: Sequence[str], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        states: dict[str, str] = {}
        while time.monotonic() < deadline:
            states = self.health()
            if all(states.get(name) == "healthy" for name in services):
                return
            time.sleep(3)
        raise TimeoutError(f"not healthy within {timeout:.0f} s: {states}\n{self.logs(*services)}")


@dataclass
class Site:
    """HTTPS to one of Caddy's sites from the host: Caddy's loopback port, the site's name in SNI and
    ``Host``, the certificate checked against Caddy's root (what a client that resolves the name sees)."""

    name: str
    port: int
    ca: Path
    headers: dict[str, str] = field(default_factory=dict)

    def client(self, timeout: float = 30) -> httpx.Client:
        return httpx.Client(
            base_url=f"https://127.0.0.1:{self.port}",
            headers={"Host": self.name, **self.headers},
            verify=str(self.ca),
            timeout=timeout,
            trust_env=False,
        )

    def request(self, client: httpx.Client, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return client.request(method, path, extensions={"sni_hostname": self.name}, **kwargs)


def make_data_dir(root: Path) -> Path:
    """The data volume's layout with its owners (the test runs as root, as cloud-init does)."""
    for relative, owner in DATA_DIRS.items():
        path = root / relative
        path.mkdir(parents=True, exist_ok=True)
        os.chown(path, owner, owner)
    (root / "postgres").chmod(0o700)
    return root


def write_env(path: Path, values: dict[str, str]) -> Path:
    """A .env as Terraform writes it: single-quoted values, taken literally by Compose."""
    path.write_text("".join(f"{key}='{value}'\n" for key, value in values.items()))
    path.chmod(0o600)
    return path


def cpu_seconds(engine: Engine, container: str) -> float:
    """CPU time used so far by every process of a container, read from the host's /proc (the engine's
    containers are this host's processes; each one's cgroup path names its container id), so a
    benchmark can say which container its cycles went to."""
    container_id = engine.docker("inspect", "--format", "{{.Id}}", container).stdout.strip()
    ticks = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if container_id not in (entry / "cgroup").read_text():
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process has exited
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")
