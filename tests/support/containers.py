"""A Docker engine, images and containers for the container tests (and the stack tests built on them).

The engine comes from ``scripts/container-engine``: the system's when one answers, otherwise a private
dockerd (no bridge, no iptables), which is why every build here uses ``--network host`` and every
container either shares the host's network or publishes on 127.0.0.1. The session that starts a private
engine stops it at its end; one it found running is left running. Containers are labelled and always
removed, even when a test fails (their logs are kept in the failure message).
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support.processes import wait_until

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "container-engine"
#: Every container a test starts carries it, so a crashed session's leftovers can be found and removed.
LABEL = "org.alphapulse.test"


@dataclass
class Engine:
    docker_host: str
    #: True when this session started the engine (and so stops it at the end).
    started: bool
    #: Seconds per step, printed by the tests for docs/DEPLOY.md.
    seconds: dict[str, float] = field(default_factory=dict)

    def env(self, **variables: str) -> dict[str, str]:
        """This process's environment pointed at the engine (plus ``variables``)."""
        return {**os.environ, "DOCKER_HOST": self.docker_host, **variables}

    def docker(
        self, *args: str, timeout: float = 600, check: bool = True, **variables: str
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            ["docker", *args],
            env=self.env(**variables),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"docker {' '.join(args)}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
        return result


def engine_script(*args: str, timeout: float = 3600) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "DOCKER_HOST"}
    return subprocess.run(
        [str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def start_engine() -> Engine:
    """The engine the script gives (started when none answers); raises with the script's reason."""
    running = engine_script("status").returncode == 0
    result = engine_script("start", timeout=600)
    if result.returncode != 0:
        raise RuntimeError(f"scripts/container-engine start failed:\n{result.stderr[-3000:]}")
    line = result.stdout.strip().splitlines()[-1]
    return Engine(docker_host=line.removeprefix("export DOCKER_HOST="), started=not running)


def stop_engine(engine: Engine) -> None:
    """Stop the engine if this session started it; the image cache stays on disk."""
    if engine.started:
        engine_script("stop", timeout=120)


def ensure_base_images(engine: Engine, *names: str) -> None:
    """Pulled where a registry answers, else the script's stand-ins (reused while their recipe holds)."""
    started = time.perf_counter()
    result = engine_script("base-images", *names)
    if result.returncode != 0:
        raise RuntimeError(f"scripts/container-engine base-images failed:\n{result.stderr[-3000:]}")
    engine.seconds["base images"] = time.perf_counter() - started


def build_image(
    engine: Engine, tag: str, *, dockerfile: Path, context: Path = REPO, timeout: float = 3600
) -> float:
    """``docker build --network host``; returns the seconds it took (a cached build takes a few)."""
    started = time.perf_counter()
    engine.docker(
        "build", "--network", "host", "-f", str(dockerfile), "-t", tag, str(context), timeout=timeout
    )
    return time.perf_counter() - started


def image_size(engine: Engine, image: str) -> int:
    """Bytes, as ``docker image ls`` counts them (all layers)."""
    return int(engine.docker("image", "inspect", "--format", "{{.Size}}", image).stdout.strip())


@dataclass(frozen=True)
class Container:
    engine: Engine
    name: str

    def logs(self) -> str:
        result = self.engine.docker("logs", "--tail", "200", self.name, check=False)
        return result.stdout + result.stderr

    def running(self) -> bool:
        state = self.engine.docker("inspect", "--format", "{{.State.Running}}", self.name, check=False)
        return state.stdout.strip() == "true"

    def wait(self, timeout: float) -> int:
        """The container's exit code once it stops."""
        return int(self.engine.docker("wait", self.name, timeout=timeout).stdout.strip())


@contextmanager
def run_container(
    engine: Engine,
    image: str,
    *args: str,
    env: dict[str, str] | None = None,
    network_host: bool = True,
    publish: Sequence[str] = (),
    options: Sequence[str] = (),
) -> Iterator[Container]:
    """``docker run -d`` for the block, removed (``rm -f``) afterwards whatever happened."""
    name = f"alphapulse-test-{uuid.uuid4().hex[:10]}"
    command = ["run", "-d", "--name", name, "--label", f"{LABEL}=1", *options]
    if network_host:
        command += ["--network", "host"]
    for port in publish:
        command += ["-p", port]
    for key, value in (env or {}).items():
        command += ["-e", f"{key}={value}"]
    engine.docker(*command, image, *args)
    container = Container(engine, name)
    try:
        yield container
    finally:
        engine.docker("rm", "-f", "-v", name, check=False)


def cleanup(engine: Engine) -> None:
    """Remove every test container left behind (by a crashed or killed session)."""
    left = engine.docker("ps", "-aq", "--filter", f"label={LABEL}", check=False).stdout.split()
    if left:
        engine.docker("rm", "-f", "-v", *left, check=False)


def wait_for_http(
    url: str, *, container: Container, timeout: float, ok: Callable[[httpx.Response], bool] | None = None
) -> None:
    """Until ``url`` answers 200 (or ``ok``); fails at once, with the logs, if the container exits."""
    accept = ok or (lambda response: response.status_code == 200)

    def answered() -> bool:
        if not container.running():
            raise RuntimeError(f"{container.name} exited:\n{container.logs()[-4000:]}")
        try:
            return accept(httpx.get(url, timeout=3))
        except httpx.HTTPError:
            return False

    try:
        wait_until(answered, timeout=timeout, what=url, interval=1.0)
    except TimeoutError as error:
        raise TimeoutError(f"{error}; logs of {container.name}:\n{container.logs()[-4000:]}") from None
