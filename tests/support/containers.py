"""A Docker engine, images and containers for the container tests (and the stack tests built on them).

The engine comes from ``scripts/container-engine``: the system's when one answers, otherwise a private
dockerd (no bridge, no iptables), which is why every build here uses ``--network host`` and every
container either shares the host's network or publishes on 127.0.0.1. Several test sessions may share a
private engine: each holds a lease (its pid) and the last one to release it stops an engine a session
started (one started by hand stays up). Containers carry their session's pid as a label and are always
removed, even when a test fails (their logs are kept in the failure message); a session removes only its
own and those of sessions that died.
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
#: Every container a test starts carries it, valued with its session's pid, so that a crashed session's
#: leftovers can be found and removed without touching a concurrent session's.
LABEL = "org.alphapulse.test.session"
SESSION = str(os.getpid())


@dataclass
class Engine:
    docker_host: str
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
    """The engine the script gives (started when none answers), leased by this process; raises with the
    script's reason."""
    result = engine_script("start", "--lease", SESSION, timeout=600)
    if result.returncode != 0:
        raise RuntimeError(f"scripts/container-engine start failed:\n{result.stderr[-3000:]}")
    line = result.stdout.strip().splitlines()[-1]
    return Engine(docker_host=line.removeprefix("export DOCKER_HOST="))


def stop_engine(engine: Engine) -> None:
    """Release this session's lease: the engine stops if a session started it and none holds it any more
    (the image cache stays on disk)."""
    engine_script("release", SESSION, timeout=120)


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
    previous = image_id(engine, tag)
    started = time.perf_counter()
    engine.docker(
        "build", "--network", "host", "-f", str(dockerfile), "-t", tag, str(context), timeout=timeout
    )
    seconds = time.perf_counter() - started
    drop_replaced(engine, tag, previous)
    return seconds


def image_id(engine: Engine, tag: str) -> str | None:
    result = engine.docker("image", "inspect", "--format", "{{.Id}}", tag, check=False)
    return result.stdout.strip() or None


def drop_replaced(engine: Engine, tag: str, previous: str | None) -> None:
    """Remove the image ``tag`` named before a rebuild (its layers the new one shares stay, as cache).

    Never ``docker image prune``: on a shared engine it deletes the untagged layers of builds running
    in other sessions."""
    if previous is not None and previous != image_id(engine, tag):
        engine.docker("rmi", previous, check=False)


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
    command = ["run", "-d", "--name", name, "--label", f"{LABEL}={SESSION}", *options]
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
    """Remove this session's test containers and those of sessions no longer running (crashed, killed)."""
    listed = engine.docker(
        "ps",
        "-a",
        "--filter",
        f"label={LABEL}",
        "--format",
        f'{{{{.ID}}}} {{{{.Label "{LABEL}"}}}}',
        check=False,
    )
    left = [cid for cid, owner in (line.split() for line in listed.stdout.splitlines()) if not alive(owner)]
    if left:
        engine.docker("rm", "-f", "-v", *left, check=False)


def alive(owner: str) -> bool:
    """A concurrent session's pid that still runs (this session's own containers count as left over)."""
    if owner == SESSION or not owner.isdigit():
        return False
    try:
        os.kill(int(owner), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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
