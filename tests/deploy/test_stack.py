"""The production compose stack, running on loopback: deploy, ingest, train, promote, roll out, roll back.

``deploy/docker-compose.yml`` itself, with the dry-run overlay (the replay exchange, moto's server as S3,
Caddy on its internal CA) and the test's own override (the replayed file, Caddy's site names on the edge
network), on the engine scripts/container-engine gives. The images are the release ones the container
tests build: the worker (runtime) image and the containerized release Bento. The tests run in order, on
one stack, as an operator's first day would go:

1. the stack comes up healthy; Caddy serves every site over TLS from its CA, the UIs behind a login;
2. ``prefect --no-prompt deploy --all`` through Caddy with the CI bearer token, from a container on the
   edge network (as CI does from outside);
3. the candles come from the replay exchange (a planted, learnable signal: the honest bundled data is
   refused by the gate, see tests/integration/test_training_registry.py), features are built by the
   deployment the ingestion's completion triggers; the operator serves the release Bento with one
   command; training promotes, the promotion's event starts export-champion, which exports the Bento to
   S3 and has the deployer roll it out: ``/signal`` through Caddy answers with the new model;
4. throughput through Caddy beside direct access, the same wrk on the same network;
5. a rollback to the release Bento under load: no failed request.

Figures are printed (``-s``) for docs/DEPLOY.md.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from alphapulse.rollout import DeployerClient
from alphapulse.store import make_engine
from alphapulse.store.tables import Candle
from bench.serve import WRK_SCRIPT, load
from tests.deploy.test_containers import (  # noqa: F401
    BENTO_IMAGE,
    WORKER_IMAGE,
    bento_image,
    worker_image,
)
from tests.support.containers import Engine, build_image, ensure_base_images
from tests.support.load import Load
from tests.support.planted import write_planted_candles
from tests.support.processes import free_port, wait_until
from tests.support.stack import (
    CA_ROOT,
    COMPOSE_FILES,
    DOMAINS,
    Compose,
    Site,
    make_data_dir,
    write_env,
)

pytestmark = [pytest.mark.container, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
PROJECT = "alphapulse-stacktest"
SYMBOL, TIMEFRAME = "BTC/USDT", "1h"
#: Hourly bars of the planted file: enough for the fast profile's four walk-forward windows.
PLANTED_BARS = 12_000
#: The replay starts this many bars before the file ends (its default lead, 7 days): the rest is future.
REPLAY_LEAD_BARS = 7 * 24
S3_IMAGE = "alphapulse-s3-standin:test"
WRK_IMAGE = "alphapulse-wrk:test"
EDGE = "alphapulse-edge"
UI_PASSWORD = "stack-test-password"
TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
#: The long services: everything the stack runs but the one-shots.
SERVICES = (
    "postgres",
    "prefect-server",
    "mlflow",
    "s3",
    "replay-exchange",
    "prefect-worker",
    "prefect-worker-2",
)


@dataclass
class Stack:
    compose: Compose
    engine: Engine
    env: dict[str, str]
    api: Site
    prefect: Site
    mlflow: Site
    ca: Path
    root: Path

    def exec(self, service: str, *command: str, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
        return self.engine.docker("exec", self.compose.container(service), *command, timeout=timeout)

    def ip(self, container: str, network: str = EDGE) -> str:
        template = f'{{{{(index .NetworkSettings.Networks "{network}").IPAddress}}}}'
        return self.engine.docker("inspect", "--format", template, container).stdout.strip()

    def deployer(self) -> DeployerClient:
        return DeployerClient(
            f"http://{self.ip(self.compose.container('deployer'))}:8700",
            self.env["ALPHAPULSE_DEPLOYER_TOKEN"],
        )

    def database_url(self) -> str:
        """The app database, from the host: the postgres container's address on the backend network."""
        address = self.ip(self.compose.container("postgres"), "alphapulse-backend")
        return (
            f"postgresql+psycopg://alphapulse:{self.env['POSTGRES_APP_PASSWORD']}@{address}:5432/alphapulse"
        )


class PrefectApi:
    """The stack's Prefect API through Caddy, with the bearer token CI uses."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.client = site.client()

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.site.request(self.client, method, f"/api{path}", **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None

    def run(self, deployment: str, parameters: dict[str, Any] | None = None) -> str:
        found = self.call("GET", f"/deployments/name/{deployment}")
        created = self.call(
            "POST", f"/deployments/{found['id']}/create_flow_run", json={"parameters": parameters or {}}
        )
        return str(created["id"])

    def runs(self, deployment: str) -> list[dict[str, Any]]:
        found = self.call("GET", f"/deployments/name/{deployment}")
        body = {"flow_runs": {"deployment_id": {"any_": [found["id"]]}}, "sort": "EXPECTED_START_TIME_ASC"}
        return list(self.call("POST", "/flow_runs/filter", json=body))

    def wait(self, run_id: str, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = self.call("GET", f"/flow_runs/{run_id}")
            if run["state_type"] in TERMINAL:
                return dict(run)
            time.sleep(3)
        raise TimeoutError(f"flow run {run_id} not finished within {timeout:.0f} s")

    def wait_for_run(self, deployment: str, after: datetime, timeout: float) -> dict[str, Any]:
        """The first run of ``deployment`` created after ``after`` (a trigger's), once it has finished."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            fresh = [r for r in self.runs(deployment) if datetime.fromisoformat(r["created"]) > after]
            if fresh:
                return self.wait(fresh[0]["id"], deadline - time.monotonic())
            time.sleep(3)
        raise TimeoutError(f"no run of {deployment} started within {timeout:.0f} s")


def _password_hash() -> str:
    return subprocess.run(
        ["caddy", "hash-password", "--plaintext", UI_PASSWORD], capture_output=True, text=True, check=True
    ).stdout.strip()


def _socket(engine: Engine) -> tuple[str, str]:
    """The engine's socket path and its group id (what the deployer's group_add needs)."""
    path = engine.docker_host.removeprefix("unix://")
    return path, str(Path(path).stat().st_gid)


@pytest.fixture(scope="module")
def stack(
    docker_engine: Engine,
    worker_image: str,  # noqa: F811
    bento_image: str,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("stack")
    ensure_base_images(docker_engine, "python:3.12-slim", "postgres:16-alpine", "caddy:2.8.4-alpine")
    docker_engine.seconds["s3 stand-in build"] = build_image(
        docker_engine, S3_IMAGE, dockerfile=REPO / "deploy" / "s3-standin.Dockerfile"
    )
    docker_engine.seconds["wrk image build"] = build_image(
        docker_engine,
        WRK_IMAGE,
        dockerfile=REPO / "tests" / "deploy" / "wrk.Dockerfile",
        context=REPO / "tests" / "deploy",
    )
    replay = root / "replay"
    replay.mkdir()
    write_planted_candles(replay / "planted.csv.gz", bars=PLANTED_BARS)
    replay.chmod(0o755)
    (replay / "planted.csv.gz").chmod(0o644)
    data = make_data_dir(root / "data")
    socket_path, docker_gid = _socket(docker_engine)
    https = free_port()
    env = {
        "ALPHAPULSE_DOMAIN": DOMAINS["api"],
        "PREFECT_DOMAIN": DOMAINS["prefect"],
        "MLFLOW_DOMAIN": DOMAINS["mlflow"],
        "ACME_EMAIL": "ops@example.invalid",
        "ALPHAPULSE_IMAGE": BENTO_IMAGE,
        "ALPHAPULSE_RUNTIME_IMAGE": WORKER_IMAGE,
        "ALPHAPULSE_DATA_DIR": str(data),
        "POSTGRES_SUPERUSER_PASSWORD": secrets.token_hex(16),
        "POSTGRES_APP_PASSWORD": secrets.token_hex(16),
        "PREFECT_DB_PASSWORD": secrets.token_hex(16),
        "MLFLOW_DB_PASSWORD": secrets.token_hex(16),
        "ALPHAPULSE_ADMIN_API_KEY": secrets.token_hex(16),
        "ALPHAPULSE_DEPLOYER_TOKEN": secrets.token_hex(16),
        "DOCKER_GID": docker_gid,
        "UI_BASIC_AUTH_USER": "admin",
        "UI_BASIC_AUTH_HASH": _password_hash(),
        "PREFECT_API_KEY": secrets.token_hex(16),
        "ALPHAPULSE_S3_BUCKET": "alphapulse-stack-test",
        "AWS_REGION": "eu-central-1",
        "AWS_ACCESS_KEY_ID": "stack-test",
        "AWS_SECRET_ACCESS_KEY": secrets.token_hex(16),
        # The overridable production defaults: loopback ports, this engine's socket, the S3 stand-in.
        "CADDY_HTTP_PUBLISH": f"127.0.0.1:{free_port()}",
        "CADDY_HTTPS_PUBLISH": f"127.0.0.1:{https}",
        "DOCKER_SOCKET": socket_path,
        "ROLLOUT_BUILD_NETWORK": "host",
        "S3_IMAGE": S3_IMAGE,
        "REPLAY_ORIGIN": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    override = {
        "services": {
            "replay-exchange": {
                "command": [
                    "alphapulse",
                    "replay-exchange",
                    "--host",
                    "0.0.0.0",
                    "--port",
                    "8710",
                    "--csv",
                    f"{SYMBOL}=/replay/planted.csv.gz",
                    "--shift-to-now",
                    "--origin",
                    env["REPLAY_ORIGIN"],
                ],
                "volumes": [f"{replay}:/replay:ro"],
            },
            "caddy": {"networks": {"edge": {"aliases": list(DOMAINS.values())}}},
        }
    }
    (root / "test.yml").write_text(json.dumps(override, indent=2))
    compose = Compose(
        docker_engine, PROJECT, write_env(root / ".env", env), [*COMPOSE_FILES, root / "test.yml"], root
    )
    compose("down", "--volumes", "--remove-orphans", check=False)
    started = time.perf_counter()
    try:
        compose("up", "-d", timeout=1800)
        compose.wait_healthy([*SERVICES, "deployer", "caddy"], timeout=900)
        docker_engine.seconds["compose up to healthy"] = time.perf_counter() - started
        wait_until((data / CA_ROOT).exists, timeout=60, what="Caddy's internal CA root")
        # What an operator hands to clients: the root certificate alone, readable (Caddy keeps it 0600).
        trusted = root / "ca"
        trusted.mkdir(mode=0o755)
        ca = trusted / "root.crt"
        ca.write_bytes((data / CA_ROOT).read_bytes())
        ca.chmod(0o644)
        auth = {"Authorization": f"Bearer {env['PREFECT_API_KEY']}"}
        yield Stack(
            compose=compose,
            engine=docker_engine,
            env=env,
            api=Site(DOMAINS["api"], https, ca),
            prefect=Site(DOMAINS["prefect"], https, ca, auth),
            mlflow=Site(DOMAINS["mlflow"], https, ca),
            ca=ca,
            root=root,
        )
    finally:
        print(f"stack states: {compose.health()}")
        print(compose.logs("deployer", "caddy", "prefect-worker", "prefect-worker-2", tail=60)[-12000:])
        for leftover in docker_engine.docker(
            "ps", "-aq", "--filter", "label=org.alphapulse.deployer"
        ).stdout.split():
            docker_engine.docker("rm", "-f", leftover, check=False)
        compose("down", "--volumes", "--remove-orphans", check=False, timeout=600)


def test_the_stack_serves_every_site_over_tls_behind_its_logins(stack: Stack) -> None:
    with stack.mlflow.client() as client:
        refused = stack.mlflow.request(client, "GET", "/")
        admitted = stack.mlflow.request(client, "GET", "/health", auth=("admin", UI_PASSWORD))
    with stack.prefect.client() as client:
        health = stack.prefect.request(client, "GET", "/api/health")
    with Site(DOMAINS["prefect"], stack.prefect.port, stack.ca).client() as client:
        anonymous = client.get("/api/health", extensions={"sni_hostname": DOMAINS["prefect"]})
    assert refused.status_code == 401
    assert admitted.status_code == 200, admitted.text
    assert health.status_code == 200, health.text
    assert anonymous.status_code == 401, "the API needs the CI token or the UI login"
    assert health.headers.get("strict-transport-security")


def test_prefect_deploy_all_through_caddy(stack: Stack) -> None:
    """What CI's deploy job runs, from outside the backend: the edge network, the public name, the token."""
    ca = str(stack.ca.parent)
    result = stack.engine.docker(
        "run",
        "--rm",
        "--network",
        EDGE,
        "-v",
        f"{ca}:/ca:ro",
        "-e",
        f"PREFECT_API_URL=https://{DOMAINS['prefect']}/api",
        "-e",
        f"PREFECT_API_KEY={stack.env['PREFECT_API_KEY']}",
        "-e",
        "PREFECT_API_SSL_CERT_FILE=/ca/root.crt",
        "-e",
        "PREFECT_HOME=/tmp/prefect",
        WORKER_IMAGE,
        "prefect",
        "--no-prompt",
        "deploy",
        "--all",
        timeout=600,
    )
    api = PrefectApi(stack.prefect)
    names = {f"{d['name']}" for d in api.call("POST", "/deployments/filter", json={})}
    assert {"ingest-candles", "build-features", "train-and-promote", "export-champion", "monitor"} <= names, (
        result.stdout[-3000:]
    )


def _models(stack: Stack) -> dict[str, Any]:
    with stack.api.client() as client:
        response = stack.api.request(client, "GET", "/model")
    response.raise_for_status()
    return dict(response.json())


def _signal(stack: Stack) -> httpx.Response:
    with stack.api.client() as client:
        return stack.api.request(client, "POST", "/signal", json={"symbol": SYMBOL, "timeframe": TIMEFRAME})


def test_a_promotion_reaches_what_caddy_serves_without_hands(stack: Stack) -> None:
    api = PrefectApi(stack.prefect)
    started = datetime.now(UTC)
    ingest = api.wait(api.run("ingest-candles/ingest-candles"), timeout=900)
    assert ingest["state_type"] == "COMPLETED", ingest["state"]
    features = api.wait_for_run("build-features/build-features", started, timeout=900)
    assert features["state_type"] == "COMPLETED", features["state"]
    engine = make_engine(stack.database_url())
    try:
        with engine.connect() as connection:
            stored = connection.execute(select(func.count()).select_from(Candle)).scalar_one()
            distinct = connection.execute(select(func.count(func.distinct(Candle.open_time)))).scalar_one()
    finally:
        engine.dispose()
    assert stored == distinct, "no bar stored twice"
    assert stored >= PLANTED_BARS - REPLAY_LEAD_BARS - 2, "every closed bar of the replay is ingested"

    # The operator's first served signal: the release Bento, one command on the server.
    release = stack.exec("prefect-worker", "alphapulse", "deploy", "rollout", BENTO_IMAGE.split(":")[1])
    assert _signal(stack).status_code == 200, release.stdout
    (release_model,) = _models(stack)["models"]
    fresh_since = datetime.now(UTC) - timedelta(days=2)
    assert datetime.fromisoformat(release_model["data_end"]) < fresh_since, (
        "the release's model: bundled data"
    )

    trained_from = datetime.now(UTC)
    train = api.wait(api.run("train-and-promote/train-and-promote", {"profile": "fast"}), timeout=1800)
    assert train["state_type"] == "COMPLETED", train["state"]
    promoted_at = datetime.fromisoformat(train["end_time"])
    export = api.wait_for_run("export-champion/export-champion", trained_from, timeout=2400)
    assert export["state_type"] == "COMPLETED", export["state"]

    def trained_here(models: dict[str, Any]) -> bool:
        return any(datetime.fromisoformat(m["data_end"]) > fresh_since for m in models["models"])

    # Every worker of the new container, through Caddy: the first answer that is not the new model fails.
    wait_until(lambda: trained_here(_models(stack)), timeout=120, what="the promoted model through Caddy")
    served_at = datetime.now(UTC)
    answers = [_models(stack) for _ in range(10)]
    assert all(trained_here(models) for models in answers), "an answer came from the old version"
    answer = _signal(stack)
    assert answer.status_code == 200, answer.text
    status = stack.deployer().status()
    assert status.active is not None
    print(
        f"promotion to served through Caddy: {(served_at - promoted_at).total_seconds():.0f} s "
        f"(export-champion run {export['total_run_time']:.0f} s); serving {status.active.version} on "
        f"{status.active.color}; {stored} bars ingested once each"
    )


def test_signal_through_caddy_beside_direct_access(stack: Stack) -> None:
    """The same wrk, in a container on the edge network, against Caddy's site and the Bento container."""
    status = stack.deployer().status()
    assert status.active is not None
    work = stack.root / "wrk"
    work.mkdir(mode=0o755, exist_ok=True)
    (work / "signal.lua").write_text(WRK_SCRIPT)
    (work / "signal.json").write_text(json.dumps({"symbol": SYMBOL, "timeframe": TIMEFRAME}))
    wrk = [
        "docker", f"--host={stack.engine.docker_host}", "run", "--rm", "--network", EDGE,
        "-v", f"{work}:/work:ro", WRK_IMAGE, "-s", "/work/signal.lua",
    ]  # fmt: skip
    urls = {
        "through Caddy": f"https://{DOMAINS['api']}/signal",
        "direct": f"http://{status.active.upstream}/signal",
    }
    for url in urls.values():
        load(wrk, url, "/work/signal.json", 32, 2)  # warm-up: connections, the workers' caches
    figures: dict[str, list[dict[str, float]]] = {name: [] for name in urls}
    for _ in range(3):
        for name, url in urls.items():
            figures[name].append(load(wrk, url, "/work/signal.json", 32, 10))
    for name, runs in figures.items():
        rps, p99 = (sorted(r[key] for r in runs)[1] for key in ("rps", "p99"))
        failed = sum(r["failed"] for r in runs)
        print(
            f"/signal {name}, 32 clients: {rps:.0f} req/s (median of 3 rounds), p99 {p99:.1f} ms, failed {failed:.0f}"
        )
    pairs = zip(figures["through Caddy"], figures["direct"], strict=True)
    ratio = sorted(caddy["rps"] / direct["rps"] for caddy, direct in pairs)[1]
    print(f"/signal through Caddy / direct: {ratio:.2f} (goal at least 0.8)")
    assert all(r["failed"] == 0 for runs in figures.values() for r in runs)


def test_a_rollback_under_load_fails_no_request(stack: Stack) -> None:
    before = stack.deployer().status()
    assert before.active is not None
    assert before.history, "a promotion was rolled out over the release"
    load_ = Load("/signal", client=stack.api.client, extensions={"sni_hostname": stack.api.name})
    load_.start()
    try:
        time.sleep(3)
        started = time.perf_counter()
        stack.exec("prefect-worker", "alphapulse", "deploy", "rollback")
        seconds = time.perf_counter() - started
        time.sleep(3)
    finally:
        load_.stop()
    after = stack.deployer().status()
    assert after.active is not None
    assert after.active.version == before.history[-1]
    print(
        f"rollback {before.active.version} -> {after.active.version} in {seconds:.0f} s under load: "
        f"{load_.total} requests, statuses {dict(load_.statuses)}, failed {len(load_.failures)}, resets {len(load_.resets)}"
    )
    assert load_.failures == [], load_.failures[:10]
    # The switch reloads Caddy: at most one reset per client (docs/DEPLOY.md, "Not yet zero").
    assert len(load_.resets) <= load_.clients, load_.resets[:10]
