"""Blue-green rollouts for real: the deployer (``alphapulse deploy serve``, a real process on the engine's
socket) switches real Bento containers behind the production Caddyfile run by a Caddy container, while
clients send a steady load of ``/signal`` through Caddy; and it keeps the serving version when the new one
never becomes ready.

Every request carries a key issued in the Bento's database (the deployer issues its own for its smoke
checks there, so it is given that database's URL, as in the compose stack).

The Bento image is the one the container test builds from the release path (``bento_image``, same tag);
two versions are that image under two version tags (what differs between versions, the model, is not what
a rollout tests). The private engine has no bridge, so every container shares the host's network: the
Bento colours listen on two free loopback ports, Caddy's two upstreams (``alphapulse-bento-<colour>:3000``
on the stack's network). The deployer admits and withdraws them by exec through the Engine API, the
production path, and Caddy is never reloaded. Figures are printed (``-s``) for docs/DEPLOY.md. What
follows a promotion (the Bento imported from the artifact store, its image built by the deployer, rolled
out) runs in the compose stack, tests/deploy/test_stack.py.
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from alphapulse.access.keys import create_key, list_keys
from alphapulse.rollout import DeployerClient, DeployerError
from alphapulse.store import make_engine
from tests.conftest import throwaway_database
from tests.deploy.test_containers import BENTO_IMAGE, bento_image, fresh_features  # noqa: F401
from tests.support.containers import LABEL, SESSION, Container, Engine, ensure_base_images, wait_for_http
from tests.support.load import Load
from tests.support.processes import clean_environment, free_port, running

pytestmark = [pytest.mark.container, pytest.mark.postgres, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
CADDY_IMAGE = "caddy:2.8.4-alpine"
SYMBOL, TIMEFRAME = "BTC/USDT", "1h"
#: Concurrent clients of the steady load, each on its own keep-alive connection (which a Caddy reload
#: would close: the switch must not reload).
CLIENTS = 8
UI_PASSWORD = "rollout-test-password"


@dataclass
class Stack:
    engine: Engine
    client: DeployerClient
    proxy: str
    prefix: str
    log: Path
    database_url: str
    #: Headers with a key allowed /signal and /models/status, with limits no load here reaches.
    key: dict[str, str]

    def containers(self) -> set[str]:
        names = self.engine.docker("ps", "-a", "--format", "{{.Names}}", "--filter", f"name={self.prefix}")
        return set(names.stdout.split())


def _password_hash(engine: Engine) -> str:
    caddy = shutil.which("caddy")
    command = [caddy] if caddy else ["docker", "run", "--rm", CADDY_IMAGE, "caddy"]
    return subprocess.run(
        [*command, "hash-password", "--plaintext", UI_PASSWORD],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env=engine.env(),
    ).stdout.strip()


@pytest.fixture
def stack(
    bento_image: str,  # noqa: F811
    docker_engine: Engine,
    pg_server: str,
    tmp_path: Path,
) -> Iterator[Stack]:
    """A throwaway database with fresh features, the deployer process, and Caddy in front of its fragment;
    every container and the process are removed afterwards."""
    ensure_base_images(docker_engine, CADDY_IMAGE)
    for version in ("rollout-a", "rollout-b"):
        docker_engine.docker("tag", BENTO_IMAGE, f"alphapulse:{version}")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "Dockerfile").write_text(
        f'FROM {BENTO_IMAGE}\nENTRYPOINT ["sh", "-c", "echo this version never starts; exit 3"]\n'
    )
    docker_engine.docker("build", "-q", "-t", "alphapulse:rollout-broken", str(broken))
    prefix = f"alphapulse-test-{uuid.uuid4().hex[:8]}-bento"
    token = secrets.token_hex(24)
    api, admin, deployer_port = free_port(), free_port(), free_port()
    blue, green = free_port(), free_port()
    with throwaway_database(pg_server) as url:
        fresh_features(url, tmp_path / "features")
        store = make_engine(url)
        try:
            limits = {"signal": "100000/second", "models": "1000/second"}
            issued = create_key(store, "rollout-test", ["signal", "models"], limits=limits)
        finally:
            store.dispose()
        bento_env = {
            "ALPHAPULSE_DATABASE_URL": url,
            "ALPHAPULSE_HOME": "/tmp/alphapulse",
            "ALPHAPULSE_SERVING_WORKERS": "1",
            "BENTOML_HOST": "127.0.0.1",
        }
        env = clean_environment(
            ALPHAPULSE_HOME=str(tmp_path / "deployer-home"),
            # The store the Bento reads: the smoke check's own key is issued there.
            ALPHAPULSE_DATABASE_URL=url,
            ALPHAPULSE_DEPLOYER_TOKEN=token,
            ALPHAPULSE_DOCKER_SOCKET=docker_engine.docker_host.removeprefix("unix://"),
            ALPHAPULSE_ROLLOUT_CONTAINER_PREFIX=prefix,
            ALPHAPULSE_ROLLOUT_HOST_PORTS=json.dumps([blue, green]),
            ALPHAPULSE_ROLLOUT_BENTO_ENV=json.dumps(bento_env),
            ALPHAPULSE_ROLLOUT_DRAIN_SECONDS="2",
            ALPHAPULSE_ROLLOUT_STOP_TIMEOUT_SECONDS="10",
            ALPHAPULSE_ROLLOUT_READY_TIMEOUT_SECONDS="180",
            ALPHAPULSE_ROLLOUT_BUILD_NETWORK="host",
        )
        log = tmp_path / "deployer.log"
        command = [str(Path(sys.executable).with_name("alphapulse")), "deploy", "serve"]
        caddy = Container(docker_engine, f"{prefix}-caddy")
        try:
            with running(
                [*command, "--host", "127.0.0.1", "--port", str(deployer_port)],
                env=env,
                log=log,
                cwd=tmp_path,
            ) as deployer:
                _wait_for_deployer(f"http://127.0.0.1:{deployer_port}/healthz", deployer, log)
                caddy_env = {
                    "CADDY_ADMIN": f"localhost:{admin}",
                    "ALPHAPULSE_DOMAIN": f"http://127.0.0.1:{api}",
                    "PREFECT_DOMAIN": f"http://127.0.0.1:{free_port()}",
                    "MLFLOW_DOMAIN": f"http://127.0.0.1:{free_port()}",
                    "GRAFANA_DOMAIN": f"http://127.0.0.1:{free_port()}",
                    "CADDY_METRICS_LISTEN": f"http://127.0.0.1:{free_port()}",
                    "ACME_EMAIL": "ops@example.invalid",
                    "UI_BASIC_AUTH_USER": "admin",
                    "UI_BASIC_AUTH_HASH": _password_hash(docker_engine),
                    "PREFECT_API_KEY": secrets.token_hex(24),
                    "BENTO_BLUE": f"127.0.0.1:{blue}",
                    "BENTO_GREEN": f"127.0.0.1:{green}",
                }
                docker_engine.docker(
                    "run",
                    "-d",
                    "--name",
                    caddy.name,
                    # This session's: a crashed session's leftover is removed by the next cleanup.
                    "--label",
                    f"{LABEL}={SESSION}",
                    "--network",
                    "host",
                    "-v",
                    f"{REPO / 'deploy' / 'Caddyfile'}:/etc/caddy/Caddyfile:ro",
                    *[f"--env={key}={value}" for key, value in caddy_env.items()],
                    CADDY_IMAGE,
                )
                wait_for_http(
                    f"http://127.0.0.1:{api}/readyz",
                    container=caddy,
                    timeout=60,
                    # Up, nothing serving yet: no colour admitted (503), or not yet checked (502).
                    ok=lambda response: response.status_code in {502, 503},
                )
                client = DeployerClient(f"http://127.0.0.1:{deployer_port}", token)
                yield Stack(
                    docker_engine,
                    client,
                    f"http://127.0.0.1:{api}",
                    prefix,
                    log,
                    url,
                    {"X-API-Key": issued.token},
                )
                client.close()
        finally:
            for name in (f"{prefix}-blue", f"{prefix}-green", caddy.name):
                docker_engine.docker("rm", "-f", name, check=False)
            print(f"deployer log:\n{log.read_text()[-3000:]}")


def _wait_for_deployer(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"deployer exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        try:
            if httpx.get(url, timeout=2, trust_env=False).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    pytest.fail(f"deployer not up in time:\n{log.read_text()[-4000:]}")


def test_blue_green_rollout_and_rollback_under_load_lose_no_request(stack: Stack) -> None:
    first = stack.client.rollout("alphapulse:rollout-a", wait=600)
    assert first.outcome == "served", first.detail
    assert stack.containers() == {f"{stack.prefix}-blue", f"{stack.prefix}-caddy"}
    body = {"symbol": SYMBOL, "timeframe": TIMEFRAME}
    answer = httpx.post(stack.proxy + "/signal", json=body, headers=stack.key, timeout=30)
    assert answer.status_code == 200, answer.text

    load = Load(stack.proxy + "/signal", clients=CLIENTS, headers=stack.key)
    load.start()
    try:
        time.sleep(3)
        started = time.perf_counter()
        rollout = stack.client.rollout("rollout-b", wait=600)
        rollout_wall = time.perf_counter() - started
        during_rollout = load.total
        assert stack.containers() == {f"{stack.prefix}-green", f"{stack.prefix}-caddy"}, "old colour stopped"
        time.sleep(3)
        started = time.perf_counter()
        rollback = stack.client.rollback(wait=600)
        rollback_wall = time.perf_counter() - started
        time.sleep(3)
    finally:
        load.stop()
    status = stack.client.status()
    assert status.active is not None
    assert (status.active.version, status.active.color) == ("rollout-a", "blue")
    assert status.history == ["rollout-b"], "a rollback is a rollout to the previous version"
    assert stack.containers() == {f"{stack.prefix}-blue", f"{stack.prefix}-caddy"}
    print(
        f"rollout a->b: {rollout.seconds_to_served} s to served, {rollout_wall:.1f} s with the drain; "
        f"rollback b->a: {rollback.seconds_to_served} s to served, {rollback_wall:.1f} s; "
        f"{load.total} requests through Caddy ({during_rollout} until the rollout ended) from {CLIENTS} "
        f"clients, statuses {dict(load.statuses)}, failed {len(load.failures)}, reset {len(load.resets)}"
    )
    assert rollback.kind == "rollback"
    assert load.total > 100, "the load ran during both switches"
    assert load.failures == [], load.failures[:10]
    assert load.resets == [], "a switch closes no client connection"
    store = make_engine(stack.database_url)
    try:
        smoke = [k for k in list_keys(store, include_revoked=True) if k.name.startswith("rollout-smoke-")]
        active = list_keys(store)
    finally:
        store.dispose()
    assert len(smoke) == 3, "one key per smoke check: a, b, then a again"
    assert [k.name for k in active] == ["rollout-test"], "every smoke key was revoked after its check"


def test_a_version_that_never_gets_ready_is_not_switched_to(stack: Stack) -> None:
    assert stack.client.rollout("alphapulse:rollout-a", wait=600).outcome == "served"
    load = Load(stack.proxy + "/signal", clients=CLIENTS, headers=stack.key)
    load.start()
    try:
        started = time.perf_counter()
        with pytest.raises(DeployerError, match="kept previous") as refused:
            stack.client.rollout("alphapulse:rollout-broken", wait=600)
        seconds = time.perf_counter() - started
        time.sleep(2)
    finally:
        load.stop()
    assert "exited before it was ready" in str(refused.value)
    assert "this version never starts" in str(refused.value), "the container's logs are in the reason"
    status = stack.client.status()
    assert status.active is not None
    assert status.active.version == "rollout-a"
    assert status.last is not None
    assert status.last.outcome == "kept previous"
    assert stack.containers() == {f"{stack.prefix}-blue", f"{stack.prefix}-caddy"}, "the new one is removed"
    print(
        f"broken version refused in {seconds:.1f} s; {load.total} requests meanwhile, "
        f"statuses {dict(load.statuses)}, failed {len(load.failures)}, reset {len(load.resets)}"
    )
    assert load.failures == [], load.failures[:10]
    assert load.resets == [], load.resets
