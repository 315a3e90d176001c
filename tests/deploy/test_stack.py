"""The production compose stack, running on loopback: deploy, ingest, train, promote, roll out, roll back.

``deploy/docker-compose.yml`` itself, with the dry-run overlay (the replay exchange, moto's server as S3,
Caddy on its internal CA) and the test's own override (the replayed files, Caddy's site names on the edge
network), on the engine scripts/container-engine gives. The images are the release ones the container
tests build: the worker (runtime) image and the containerized release Bento. The tests run in order, on
one stack, as an operator's first day would go:

1. the stack comes up healthy; Caddy serves every site over TLS from its CA, the UIs behind a login;
2. ``prefect --no-prompt deploy --all`` through Caddy with the CI bearer token, from a container on the
   edge network (as CI does from outside);
3. the candles of three symbols come from the replay exchange (planted, learnable signals: the honest
   bundled data is refused by the gate, see tests/integration/test_training_registry.py); the
   ingestion's ``alphapulse.candles.stored`` event triggers the features deployment; the deployer of the
   fresh stack serves the release Bento by itself once features exist; the operator trains BTC/USDT, the
   promotion's event starts export-champion, which exports the Bento (the champions there are) to S3 and
   has the deployer roll it out: ``/signal`` through Caddy answers with the new model, and refuses a
   symbol no model is served for; every request carries an API key the operator issued with
   ``alphapulse keys create`` in the worker container; through Caddy, no key is 401, a key without the
   scope 403, a revoked key 401 at once, a key's limit holds across the Bento's workers (Redis), and no
   token shows in any log;
4. a replayed market day: the replay closes a bar every 20 s; interval schedules run ingestion and the
   monitor; every bar of each symbol is stored once with the exchange's prices although a worker
   container is killed (-9) mid-ingestion (the run is marked Crashed: its Running event is held back by
   Prefect, see docs/DEPLOY.md), the features follow every ingestion, ``/signal`` shows each new bar
   within the Bento's refresh, outcomes resolve, no retraining storm, and flow runs land on both workers;
5. observability: Prometheus scrapes every target up, and every query of the Grafana dashboard returns
   data; then a stale signal and a 5xx burst (the serving Bento frozen under load) are forced, and both
   alerts reach the alert webhook through Alertmanager (the rules' `for:` at 0 s, promtool tests the
   production durations);
6. throughput through Caddy beside direct access, the same wrk on the same network, with the CPU each
   container spent per request;
7. a rollback to the release Bento under load: no failed request, no reset connection;
8. kill -9 of one of the Bento's worker processes under load: a new one replaces it, only requests in
   flight at the kill fail.

Figures are printed (``-s``) for docs/DEPLOY.md.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from alphapulse.monitoring.outcomes import resolved_outcomes
from alphapulse.rollout import DeployerClient
from alphapulse.store import ONLINE_FEATURES, make_engine
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
    cpu_seconds,
    make_data_dir,
    write_env,
)

pytestmark = [pytest.mark.container, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
PROJECT = "alphapulse-stacktest"
SYMBOL, TIMEFRAME = "BTC/USDT", "1h"
#: The replayed market: each symbol's planted file (seed, price scale). SYMBOL is trained and served; the
#: other two are ingested, featured and monitored beside it, as symbols no model has passed the gate for
#: yet are (the Bento serves the champions there are).
MARKETS = {SYMBOL: (11, 1.0), "ETH/USDT": (23, 0.05), "SOL/USDT": (37, 0.0025)}
#: Hourly bars of each planted file: enough for the fast profile's four walk-forward windows.
PLANTED_BARS = 12_000
#: The replay starts this many bars before the file ends (its default lead, 7 days): the rest is future.
REPLAY_LEAD_BARS = 7 * 24
#: The replay's pace, market seconds per wall second: a recorded hour closes every 20 s.
SPEED = 180
BAR_SECONDS = 3600 / SPEED
#: The replayed market day: this many bars, with ingestion every INGEST_EVERY s (three bars a run) and
#: the monitor every MONITOR_EVERY s: the schedules an operator gives a dry run at this pace (the
#: production crons follow the wall clock).
MARKET_DAY_BARS = 24
INGEST_EVERY, MONITOR_EVERY = 60, 120
#: How late the features may reach an ingestion's last bar after the run ended: its event's trigger, a
#: worker's next poll (10 s), a flow run's process start (imports: 15-35 s on this busy machine), the
#: builds, and possibly the previous build-features run first (one at a time).
FEATURES_LAG_BOUND = 180
#: How late /signal may show a bar after its features were stored: the Bento's refresh (the default,
#: 30 s), plus one sampling interval and a little scheduling.
SIGNAL_LAG_BOUND = 30 + 10
WORKERS = ("prefect-worker", "prefect-worker-2")
S3_IMAGE = "alphapulse-s3-standin:test"
#: Production's Redis where a registry answers, else a stand-in from Debian's package.
REDIS_IMAGE, REDIS_STANDIN = "redis:7.2-alpine", "alphapulse-redis-standin:test"
#: The stack's default: Caddy's fixed address on the edge network, the one proxy the Bento trusts.
CADDY_ADDRESS = "172.29.250.2"
#: Limits of the test's own key: no load here reaches them (the defaults are per real client).
GENEROUS = ("--limit", "signal=100000/second", "--limit", "models=1000/second")
WRK_IMAGE = "alphapulse-wrk:test"
OBSERVABILITY_IMAGE = "alphapulse-observability:test"
EDGE = "alphapulse-edge"
UI_PASSWORD = "stack-test-password"
TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
#: The long services: everything the stack runs but the one-shots.
SERVICES = (
    "postgres",
    "redis",
    "prefect-server",
    "mlflow",
    "s3",
    "replay-exchange",
    "prefect-worker",
    "prefect-worker-2",
    "prometheus",
    "alertmanager",
    "metrics-exporter",
    "postgres-exporter",
    "node-exporter",
)
#: Every job prometheus.yml scrapes (the Bento's: the colours the deployer runs).
SCRAPED = {"bento", "pipeline", "caddy", "postgres", "node", "alertmanager", "prometheus"}
#: The alert webhook of the stack test (run in a container): keeps what it is posted, answers it on GET.
RECEIVER = REPO / "tests" / "support" / "webhook.py"


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

    def keys(self, *args: str) -> Any:
        """``alphapulse keys ... --json`` in a worker container, as an operator issues keys."""
        return json.loads(
            self.exec("prefect-worker", "alphapulse", "keys", *args, "--json", timeout=300).stdout
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

    def runs(self, deployment: str, states: list[str] | None = None) -> list[dict[str, Any]]:
        found = self.call("GET", f"/deployments/name/{deployment}")
        runs: dict[str, Any] = {"deployment_id": {"any_": [found["id"]]}}
        if states:
            runs["state"] = {"type": {"any_": states}}
        body = {"flow_runs": runs, "sort": "EXPECTED_START_TIME_ASC", "limit": 200}
        return list(self.call("POST", "/flow_runs/filter", json=body))

    def schedule(self, deployment: str, seconds: float) -> tuple[str, str]:
        """An interval schedule on ``deployment`` (what ``prefect deployment schedule create --interval``
        does); returns the ids to remove it with :meth:`unschedule`."""
        found = self.call("GET", f"/deployments/name/{deployment}")
        anchor = datetime.now(UTC).isoformat()
        body = [{"schedule": {"interval": seconds, "anchor_date": anchor, "timezone": "UTC"}, "active": True}]
        (created,) = self.call("POST", f"/deployments/{found['id']}/schedules", json=body)
        return str(found["id"]), str(created["id"])

    def unschedule(self, ids: tuple[str, str]) -> None:
        """Removes the schedule and the runs it had scheduled but not started."""
        deployment, schedule = ids
        self.call("DELETE", f"/deployments/{deployment}/schedules/{schedule}")

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
    if docker_engine.docker("pull", "-q", REDIS_IMAGE, check=False, timeout=120).returncode == 0:
        redis_image = REDIS_IMAGE
    else:
        redis_image = REDIS_STANDIN
        docker_engine.seconds["redis stand-in build"] = build_image(
            docker_engine,
            REDIS_STANDIN,
            dockerfile=REPO / "tests" / "deploy" / "redis-standin.Dockerfile",
            context=REPO / "tests" / "deploy",
        )
    docker_engine.seconds["wrk image build"] = build_image(
        docker_engine,
        WRK_IMAGE,
        dockerfile=REPO / "tests" / "deploy" / "wrk.Dockerfile",
        context=REPO / "tests" / "deploy",
    )
    docker_engine.seconds["observability image build"] = build_image(
        docker_engine, OBSERVABILITY_IMAGE, dockerfile=REPO / "deploy" / "observability.Dockerfile"
    )
    replay = root / "replay"
    replay.mkdir()
    files = {}
    for symbol, (seed, scale) in MARKETS.items():
        name = f"{symbol.replace('/', '-').lower()}.csv.gz"
        write_planted_candles(replay / name, bars=PLANTED_BARS, seed=seed, price_scale=scale)
        (replay / name).chmod(0o644)
        files[symbol] = name
    replay.chmod(0o755)
    data = make_data_dir(root / "data")
    socket_path, docker_gid = _socket(docker_engine)
    https = free_port()
    env = {
        "ALPHAPULSE_DOMAIN": DOMAINS["api"],
        "PREFECT_DOMAIN": DOMAINS["prefect"],
        "MLFLOW_DOMAIN": DOMAINS["mlflow"],
        "GRAFANA_DOMAIN": DOMAINS["grafana"],
        "ACME_EMAIL": "ops@example.invalid",
        "ALPHAPULSE_IMAGE": BENTO_IMAGE,
        "ALPHAPULSE_RUNTIME_IMAGE": WORKER_IMAGE,
        "ALPHAPULSE_OBSERVABILITY_IMAGE": OBSERVABILITY_IMAGE,
        "ALPHAPULSE_DATA_DIR": str(data),
        "POSTGRES_SUPERUSER_PASSWORD": secrets.token_hex(16),
        "POSTGRES_APP_PASSWORD": secrets.token_hex(16),
        "PREFECT_DB_PASSWORD": secrets.token_hex(16),
        "MLFLOW_DB_PASSWORD": secrets.token_hex(16),
        "POSTGRES_MONITOR_PASSWORD": secrets.token_hex(16),
        "GRAFANA_ADMIN_PASSWORD": secrets.token_hex(16),
        "ALPHAPULSE_ALERT_WEBHOOK_URL": "http://webhook-receiver:8080/hook",
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
        # The release Bento serves by itself once features exist; tried every 30 s until then.
        "ROLLOUT_BOOTSTRAP_RETRY_SECONDS": "30",
        "S3_IMAGE": S3_IMAGE,
        "REDIS_IMAGE": redis_image,
        "REPLAY_ORIGIN": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "ALPHAPULSE_SYMBOLS": ",".join(MARKETS),
    }
    csvs = [arg for symbol, name in files.items() for arg in ("--csv", f"{symbol}=/replay/{name}")]
    rules = (REPO / "deploy" / "observability" / "rules" / "alphapulse.yml").read_text()
    fast_rules = root / "rules-fast.yml"
    fast_rules.write_text(re.sub(r"(?m)^(\s+for:) \S+$", r"\1 0s", rules))
    fast_rules.chmod(0o644)
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
                    *csvs,
                    "--shift-to-now",
                    "--origin",
                    env["REPLAY_ORIGIN"],
                    "--speed",
                    str(SPEED),
                ],
                "volumes": [f"{replay}:/replay:ro"],
            },
            "caddy": {"networks": {"edge": {"aliases": list(DOMAINS.values())}}},
            # The production rules with every `for:` at 0 s, so an alert fires at its first evaluation
            # (the production durations are promtool's: tests/deploy/test_observability.py).
            "prometheus": {"volumes": [f"{fast_rules}:/etc/alphapulse/rules/alphapulse.yml:ro"]},
            "webhook-receiver": {
                "image": WORKER_IMAGE,
                "user": "10001:10001",
                "command": ["python", "/receiver/webhook.py", "0.0.0.0", "8080"],
                "volumes": [f"{RECEIVER}:/receiver/webhook.py:ro"],
                "networks": ["edge"],
            },
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
        # The test's own client key, issued as an operator does (docs/DEPLOY.md, "API keys").
        worker = compose.container("prefect-worker")
        issued = docker_engine.docker(
            "exec", worker, "alphapulse", "keys", "create", "stack-test", "--scope", "signal",
            "--scope", "models", *GENEROUS, "--json", timeout=300,
        )  # fmt: skip
        key = {"X-API-Key": json.loads(issued.stdout)["token"]}
        yield Stack(
            compose=compose,
            engine=docker_engine,
            env=env,
            api=Site(DOMAINS["api"], https, ca, key),
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
        response = stack.api.request(client, "GET", "/models/status")
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
            per_symbol = connection.execute(
                select(Candle.symbol, func.count(), func.count(func.distinct(Candle.open_time))).group_by(
                    Candle.symbol
                )
            ).all()
    finally:
        engine.dispose()
    stored = {symbol: count for symbol, count, _distinct in per_symbol}
    assert set(stored) == set(MARKETS), "every replayed symbol is ingested"
    assert all(count == distinct for _symbol, count, distinct in per_symbol), "no bar stored twice"
    assert all(count >= PLANTED_BARS - REPLAY_LEAD_BARS - 2 for count in stored.values()), (
        f"every closed bar of the replay is ingested: {stored}"
    )

    # The first served signal with no hands: the deployer of a fresh server keeps trying the release Bento,
    # which fails its smoke check until features exist.
    release = BENTO_IMAGE.split(":")[1]

    def serving_release() -> bool:
        active = stack.deployer().status().active
        return active is not None and active.version == release

    wait_until(
        serving_release, timeout=600, what="the deployer's bootstrap serving the release Bento", interval=2
    )
    assert _signal(stack).status_code == 200, stack.deployer().status().model_dump_json()
    (release_model,) = _models(stack)["models"]
    fresh_since = datetime.now(UTC) - timedelta(days=2)
    assert datetime.fromisoformat(release_model["data_end"]) < fresh_since, (
        "the release's model: bundled data"
    )

    # The operator trains the symbol to serve now; the others wait for the nightly run (and stay unserved
    # until a model of theirs passes the gate).
    trained_from = datetime.now(UTC)
    training = {"profile": "fast", "symbols": [SYMBOL]}
    train = api.wait(api.run("train-and-promote/train-and-promote", training), timeout=1800)
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
    with stack.api.client() as client:
        unserved = stack.api.request(
            client, "POST", "/signal", json={"symbol": "ETH/USDT", "timeframe": TIMEFRAME}
        )
    assert unserved.status_code == 422, unserved.text
    assert "no model serves ETH/USDT" in unserved.text, "the refusal names the symbol and what is served"
    status = stack.deployer().status()
    assert status.active is not None
    print(
        f"promotion to served through Caddy: {(served_at - promoted_at).total_seconds():.0f} s "
        f"(export-champion run {export['total_run_time']:.0f} s); serving {status.active.version} on "
        f"{status.active.color}; {stored} bars ingested once each"
    )


def test_through_caddy_only_valid_keys_within_their_limits_are_served(stack: Stack) -> None:
    """The HTTPS path clients take. Refusals in the one error shape; a revoked key refused at once; a
    key's limit counted once across the Bento's workers (in Redis: concurrent requests on several upstream
    connections); Caddy's X-Forwarded-For names the client (wrong keys are slowed per client); and no token
    in any container's log."""
    body = {"symbol": SYMBOL, "timeframe": TIMEFRAME}
    signal_only = stack.keys("create", "stack-signal-only", "--scope", "signal", *GENEROUS[:2])
    revoked = stack.keys("create", "stack-revoked", "--scope", "signal")
    limited = stack.keys("create", "stack-limited", "--scope", "signal", "--limit", "signal=5/minute")
    bare = Site(stack.api.name, stack.api.port, stack.ca)

    def ask(token: str | None, method: str = "POST", path: str = "/signal") -> httpx.Response:
        headers = {"X-API-Key": token} if token else {}
        with bare.client() as client:
            return bare.request(
                client, method, path, headers=headers, json=body if method == "POST" else None
            )

    missing = ask(None)
    forbidden = ask(signal_only["token"], "GET", "/models/status")
    before = ask(revoked["token"])
    stack.keys("revoke", "stack-revoked")
    after = ask(revoked["token"])
    with ThreadPoolExecutor(max_workers=12) as pool:  # one TLS connection each: several upstream ones
        burst = list(pool.map(lambda _: ask(limited["token"]), range(12)))
    assert missing.status_code == 401, missing.text
    assert missing.json()["error"] == "unauthorized", missing.text
    assert set(missing.json()) <= {"error", "message", "field", "detail"}, missing.text
    assert forbidden.status_code == 403, forbidden.text
    assert forbidden.json()["error"] == "forbidden", forbidden.text
    assert (before.status_code, after.status_code) == (200, 401), after.text
    statuses = sorted(r.status_code for r in burst)
    assert statuses == [200] * 5 + [429] * 7, f"one budget across the workers: {statuses}"
    throttled = next(r for r in burst if r.status_code == 429)
    assert int(throttled.headers["Retry-After"]) >= 1, throttled.headers
    assert throttled.json()["error"] == "rate_limited", throttled.text
    counters = stack.exec("redis", "redis-cli", "--scan").stdout
    assert limited["key_id"] in counters, f"the count is Redis's: {counters[:500]}"

    bento = stack.deployer().status().active
    assert bento is not None
    logs = {}
    for name, container in (("bento", bento.container), ("caddy", stack.compose.container("caddy"))):
        shown = stack.engine.docker("logs", container)
        logs[name] = shown.stdout + shown.stderr
    # The Bento's peer is always Caddy: a refusal naming another address took it from X-Forwarded-For.
    assert stack.ip(stack.compose.container("caddy")) == CADDY_ADDRESS, "Caddy's fixed, trusted address"
    refused = [line for line in logs["bento"].splitlines() if "authentication refused: POST /signal" in line]
    assert refused, logs["bento"][-2000:]
    assert all(f" from {CADDY_ADDRESS}:" not in line for line in refused), f"the client, not Caddy: {refused}"
    tokens = [stack.api.headers["X-API-Key"], *(k["token"] for k in (signal_only, revoked, limited))]
    for name, text in logs.items():
        leaked = [line[:200] for line in text.splitlines() if any(token in line for token in tokens)]
        assert not leaked, f"a token in {name}'s log: {leaked[:3]}"
    print(f"keys through Caddy: refused lines {refused[-1:]}; burst of 12 on a 5/minute key: {statuses}")


@dataclass
class Sightings:
    """When each bar first showed in the store's online features (per symbol) and in ``/signal`` through
    Caddy (the served symbol), on the wall clock the stack's rows are stamped with: a sampler thread, so a
    kill in the foreground does not delay what is seen."""

    stack: Stack
    features: dict[str, dict[datetime, datetime]] = field(default_factory=dict)
    signal: dict[datetime, datetime] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        engine = make_engine(self.stack.database_url())
        table = ONLINE_FEATURES.c
        latest = (
            select(table.symbol, func.max(table.bar_time))
            .where(table.timeframe == TIMEFRAME)
            .group_by(table.symbol)
        )
        try:
            with self.stack.api.client() as client:
                while not self._stop.wait(1.0):
                    with engine.connect() as connection:
                        featured = connection.execute(latest).all()
                    now = datetime.now(UTC)
                    for symbol, bar in featured:
                        self.features.setdefault(symbol, {}).setdefault(_utc(bar), now)
                    answer = self.stack.api.request(
                        client, "POST", "/signal", json={"symbol": SYMBOL, "timeframe": TIMEFRAME}
                    )
                    if answer.status_code == 200:
                        as_of = _utc(datetime.fromisoformat(answer.json()["as_of"]))
                        self.signal.setdefault(as_of, datetime.now(UTC))
                    else:
                        self.errors.append(f"{answer.status_code} {answer.text[:200]}")
        finally:
            engine.dispose()

    def stop(self) -> None:
        self._stop.set()

    def featured(self, symbol: str, bar: datetime) -> datetime | None:
        """When the features of ``symbol`` first reached ``bar`` (or a later one)."""
        seen = [when for featured, when in self.features.get(symbol, {}).items() if featured >= bar]
        return min(seen, default=None)

    def signal_lags(self) -> dict[datetime, float]:
        """Per features update of the served symbol: seconds until /signal showed that bar or a later one."""
        lags = {}
        for bar, stored in self.features.get(SYMBOL, {}).items():
            shown = [seen for served, seen in self.signal.items() if served >= bar]
            if shown:
                lags[bar] = max(0.0, (min(shown) - stored).total_seconds())
        return lags


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True)
class StoredBar:
    open_time: datetime
    close: Decimal
    ingested_at: datetime


def _stored_bars(stack: Stack, symbol: str, since: datetime) -> list[StoredBar]:
    engine = make_engine(stack.database_url())
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(Candle.open_time, Candle.close, Candle.ingested_at)
                .where(Candle.symbol == symbol, Candle.timeframe == TIMEFRAME, Candle.open_time > since)
                .order_by(Candle.open_time)
            ).all()
    finally:
        engine.dispose()
    return [StoredBar(_utc(when), Decimal(close), _utc(at)) for when, close, at in rows]


def _last_stored(stack: Stack) -> dict[str, datetime]:
    engine = make_engine(stack.database_url())
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(Candle.symbol, func.max(Candle.open_time))
                .where(Candle.timeframe == TIMEFRAME)
                .group_by(Candle.symbol)
            ).all()
    finally:
        engine.dispose()
    return {symbol: _utc(bar) for symbol, bar in rows}


def _klines(stack: Stack, symbol: str, **params: int) -> list[tuple[datetime, Decimal]]:
    """The replay exchange's bars (open time, close), asked as ingestion asks (Binance's klines)."""
    address = stack.ip(stack.compose.container("replay-exchange"), "alphapulse-backend")
    query = {"symbol": symbol.replace("/", ""), "interval": TIMEFRAME, **params}
    klines = httpx.get(f"http://{address}:8710/api/v3/klines", params=query, timeout=30, trust_env=False)
    klines.raise_for_status()
    return [(datetime.fromtimestamp(k[0] / 1000, UTC), Decimal(k[4])) for k in klines.json()]


def _exchange_bars(
    stack: Stack, symbol: str, since: datetime, until: datetime
) -> list[tuple[datetime, Decimal]]:
    """The exchange's bars after ``since`` up to the one opening at ``until`` (closed ones): what
    ingestion must have stored, each once, with the exchange's exact prices."""
    start, end = int(since.timestamp() * 1000) + 1, int(until.timestamp() * 1000)
    return _klines(stack, symbol, startTime=start, endTime=end, limit=1000)


def _latest_closed(stack: Stack) -> datetime:
    """The exchange's latest closed bar (the last of its klines is the one still forming)."""
    closed, _forming = _klines(stack, SYMBOL, limit=2)
    return closed[0]


def _worker_running(stack: Stack, run: dict[str, Any]) -> str:
    """The worker service whose container runs the flow run: the one that says it started the run's
    process, or streams the run's own log lines (both workers may log "submitting" it: the one that lost
    the race aborts)."""
    marks = (f"Flow run '{run['name']}' submitted to infrastructure", f"Flow run '{run['name']}' - ")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for service in WORKERS:
            log = stack.compose.logs(service, tail=400)
            if any(mark in log for mark in marks):
                return service
        time.sleep(0.5)
    raise AssertionError(f"no worker streams the log of flow run {run['name']} ({run['id']})")


def _inspect(stack: Stack, container: str) -> dict[str, Any]:
    return dict(json.loads(stack.engine.docker("inspect", container).stdout)[0])


def _kill_a_worker_mid_ingestion(stack: Stack, api: PrefectApi) -> dict[str, float | str]:
    """kill -9 of the worker container that runs an ingestion (its main process), as soon as the run is
    Running (often before its first heartbeat), then how the stack recovers: Docker's restart policy, the
    zombie-run automation (the run is marked Crashed, its concurrency slot freed), and the next scheduled
    ingestion, which resumes after the last stored bar."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        # Found while Pending (its worker is opening the process, and says so in its log), so the kill
        # follows the Running state at once: an ingestion of three symbols takes only seconds.
        starting = api.runs("ingest-candles/ingest-candles", states=["PENDING", "RUNNING"])
        if not starting:
            time.sleep(0.3)
            continue
        run = starting[0]
        service = _worker_running(stack, run)
        while (state := api.call("GET", f"/flow_runs/{run['id']}")["state_type"]) == "PENDING":
            time.sleep(0.1)
        if state == "RUNNING":
            break
    else:
        raise AssertionError("no ingestion was seen running")
    container = stack.compose.container(service)
    found = _inspect(stack, container)
    restarts = found["RestartCount"]
    # As the kernel's OOM killer or a crash would: SIGKILL to the container's main process from the host.
    # (`docker kill` counts as an operator's stop, after which Docker restarts nothing.)
    os.kill(found["State"]["Pid"], signal.SIGKILL)
    killed = time.monotonic()
    killed_at = datetime.now(UTC)

    def restarted() -> bool:
        found = _inspect(stack, container)
        return bool(found["RestartCount"] > restarts and found["State"]["Running"])

    wait_until(restarted, timeout=120, what=f"{service} restarted by its restart policy", interval=1)
    back = time.monotonic() - killed
    wait_until(
        lambda: api.call("GET", f"/flow_runs/{run['id']}")["state_type"] in TERMINAL,
        timeout=300,
        what="the killed flow run marked finished",
        interval=3,
    )
    crashed = time.monotonic() - killed
    state = api.call("GET", f"/flow_runs/{run['id']}")["state_type"]

    def ingested_again() -> bool:
        done = api.runs("ingest-candles/ingest-candles", states=["COMPLETED"])
        return any(r["start_time"] and datetime.fromisoformat(r["start_time"]) > killed_at for r in done)

    wait_until(ingested_again, timeout=600, what="an ingestion completed after the kill", interval=3)
    return {
        "service": service,
        "state": state,
        "restarted": round(back, 1),
        "run marked": round(crashed, 1),
        "ingesting again": round(time.monotonic() - killed, 1),
    }


def _features_lags(
    stack: Stack, sightings: Sightings, runs: list[dict[str, Any]], since: dict[str, datetime]
) -> dict[str, list[float]]:
    """Per symbol, for every completed ingestion of the day that stored bars of it: seconds from the
    run's end until the features reached the last of those bars (None when they never did)."""
    lags: dict[str, list[float]] = {}
    for symbol in MARKETS:
        bars = _stored_bars(stack, symbol, since[symbol])
        for run in runs:
            started, ended = (datetime.fromisoformat(run[key]) for key in ("start_time", "end_time"))
            stored = [bar.open_time for bar in bars if started <= bar.ingested_at <= ended]
            if stored:
                featured = sightings.featured(symbol, max(stored))
                assert featured is not None, f"{symbol}: the features never reached {max(stored)}"
                lags.setdefault(symbol, []).append(max(0.0, (featured - ended).total_seconds()))
    return lags


def _busy(api: PrefectApi) -> bool:
    """Runs of the day's deployments due or going (the crons' future runs stay scheduled)."""
    now = datetime.now(UTC)
    for name in ("ingest-candles/ingest-candles", "build-features/build-features", "monitor/monitor"):
        for run in api.runs(name, states=["SCHEDULED", "PENDING", "RUNNING"]):
            if run["state_type"] != "SCHEDULED" or datetime.fromisoformat(run["expected_start_time"]) <= now:
                return True
    return False


def _settled(api: PrefectApi) -> bool:
    """Nothing due or going, twice 15 s apart (an ingestion's event starts its feature build a moment
    after the ingestion ends)."""
    if _busy(api):
        return False
    time.sleep(15)
    return not _busy(api)


def _runs_since(api: PrefectApi, deployment: str, since: datetime) -> list[dict[str, Any]]:
    return [r for r in api.runs(deployment) if datetime.fromisoformat(r["created"]) > since]


def test_a_replayed_market_day_runs_unattended(stack: Stack) -> None:
    """One bar every 20 s for a market day of three symbols, on schedules, with no hands: every bar of
    each symbol ingested exactly once with the exchange's prices (a worker container is killed
    mid-ingestion on the way), the features follow every ingestion, /signal shows each new bar within the
    Bento's refresh, the live outcomes of its answers resolve, and the monitor runs without a retraining
    storm."""
    api = PrefectApi(stack.prefect)
    first = _last_stored(stack)
    assert set(first) == set(MARKETS), first
    # The day: the next MARKET_DAY_BARS bars the exchange closes (the ones it closed since the last
    # ingestion come first, in one catch-up run).
    last = _latest_closed(stack) + timedelta(hours=MARKET_DAY_BARS)
    day_started = datetime.now(UTC)
    schedules = [
        api.schedule("ingest-candles/ingest-candles", INGEST_EVERY),
        api.schedule("monitor/monitor", MONITOR_EVERY),
    ]
    sightings = Sightings(stack)
    sampler = threading.Thread(target=sightings.run, daemon=True)
    sampler.start()
    try:
        time.sleep(MARKET_DAY_BARS * BAR_SECONDS / 3)
        recovery = _kill_a_worker_mid_ingestion(stack, api)
        wait_until(
            lambda: any(bar >= last for bar in sightings.signal),
            timeout=MARKET_DAY_BARS * BAR_SECONDS + 600,
            what="the day's last bar through /signal",
            interval=2,
        )
        day_seconds = (datetime.now(UTC) - day_started).total_seconds()
        for ids in schedules:
            api.unschedule(ids)
        schedules = []
        # The sampler goes on until the last runs (and the features they started) are done.
        wait_until(lambda: _settled(api), timeout=600, what="the day's runs finished", interval=3)
        time.sleep(SIGNAL_LAG_BOUND)
    finally:
        for ids in schedules:
            api.unschedule(ids)
        sightings.stop()
        sampler.join(timeout=60)

    stored = {symbol: _stored_bars(stack, symbol, first[symbol]) for symbol in MARKETS}
    exchange = {
        symbol: _exchange_bars(stack, symbol, first[symbol], bars[-1].open_time)
        for symbol, bars in stored.items()
    }
    ingests = _runs_since(api, "ingest-candles/ingest-candles", day_started)
    features_runs = _runs_since(api, "build-features/build-features", day_started)
    monitors = _runs_since(api, "monitor/monitor", day_started)
    completed_monitors = [r for r in monitors if r["state_type"] == "COMPLETED"]
    trainings = [
        r
        for r in _runs_since(api, "train-and-promote/train-and-promote", day_started)
        if not r["auto_scheduled"]
    ]
    features_lags = _features_lags(
        stack, sightings, [r for r in ingests if r["state_type"] == "COMPLETED"], first
    )
    signal_lags = sightings.signal_lags()
    engine = make_engine(stack.database_url())
    try:
        outcomes = resolved_outcomes(
            engine, exchange="binance", symbol=SYMBOL, timeframe=TIMEFRAME, horizon_bars=1
        )
    finally:
        engine.dispose()
    # One logged answer per bar /signal showed and model version (the sampler asked every second); each
    # resolves once the next bar is stored, so all but the newest bar's have.
    day = outcomes[outcomes["as_of"] > first[SYMBOL]]
    shown = {bar for bar in sightings.signal if bar > first[SYMBOL]}
    day_runs = [r["id"] for r in [*ingests, *features_runs, *monitors]]
    logs = {service: stack.compose.logs(service, tail=5000) for service in WORKERS}
    ran_on = {service: sum(run in log for run in day_runs) for service, log in logs.items()}

    def median(values: list[float]) -> float:
        return sorted(values)[len(values) // 2] if values else float("nan")

    worst_features = max((max(lags) for lags in features_lags.values()), default=float("nan"))
    print(
        f"market day: { {s: len(b) for s, b in stored.items()} } bars in {day_seconds:.0f} s; "
        f"{len(ingests)} ingestion runs ({sorted({r['state_type'] for r in ingests})}), {len(features_runs)} "
        f"feature runs; features after each completed ingestion within {worst_features:.0f} s (median per "
        f"symbol { {s: round(median(v)) for s, v in features_lags.items()} } s); /signal showed each new bar "
        f"within {max(signal_lags.values(), default=float('nan')):.1f} s of its features (median "
        f"{median(list(signal_lags.values())):.1f} s, {len(signal_lags)} feature updates, {len(shown)} bars "
        f"shown); {int(day['realized_return'].notna().sum())} outcomes resolved of {len(day)} bars answered; "
        f"{len(completed_monitors)}/{len(monitors)} monitor runs completed, {len(trainings)} retraining "
        f"runs; worker kill mid-ingestion: {recovery}; the day's runs per worker: {ran_on}"
    )

    for symbol, bars in stored.items():
        assert bars[-1].open_time >= last, symbol
        assert [(bar.open_time, bar.close) for bar in bars] == exchange[symbol], (
            f"{symbol}: every bar the exchange closed is stored once, with its exact prices"
        )
    assert set(features_lags) == set(MARKETS), "every symbol's features followed its ingestions"
    assert worst_features <= FEATURES_LAG_BOUND, features_lags
    assert signal_lags, "the features advanced during the day"
    assert max(signal_lags.values()) <= SIGNAL_LAG_BOUND, signal_lags
    assert not [e for e in sightings.errors if not e.startswith("503")], sightings.errors[:10]
    bento = stack.deployer().status().active
    logged = stack.engine.docker("logs", bento.container, check=False) if bento else None
    dropped = [
        line
        for line in (f"{logged.stdout}{logged.stderr}" if logged else "").splitlines()
        if "could not log" in line
    ]
    assert shown, "/signal showed the day's bars"
    assert shown <= {moment.to_pydatetime() for moment in day["as_of"]}, (
        f"every bar /signal showed was logged: logged {day[['model_version', 'as_of', 'requests']].to_dict('records')}, "
        f"/signal showed {sorted(shown)}, the Bento's dropped batches {dropped[-5:]}"
    )
    open_ = day[day["realized_return"].isna()]
    assert (open_["as_of"] == day["as_of"].max()).all(), open_
    assert all(ran_on.values()), f"flow runs spread over both workers: {ran_on}"
    assert len(completed_monitors) >= 2, [r["state_type"] for r in monitors]
    assert len(trainings) <= 1, "a retraining storm"
    assert recovery["state"] == "CRASHED", recovery


def _prometheus(stack: Stack, path: str, **params: str) -> Any:
    address = stack.ip(stack.compose.container("prometheus"), "alphapulse-backend")
    answer = httpx.get(f"http://{address}:9090/api/v1/{path}", params=params, timeout=30, trust_env=False)
    answer.raise_for_status()
    return answer.json()["data"]


def test_prometheus_scrapes_every_target_and_every_dashboard_panel_has_data(stack: Stack) -> None:
    """Every job of prometheus.yml up (the Bento's serving colour included), and every query of the
    Grafana dashboard (deploy/observability/grafana) answered with data by the stack's Prometheus."""

    def targets() -> dict[str, set[str]]:
        found: dict[str, set[str]] = {}
        for target in _prometheus(stack, "targets")["activeTargets"]:
            found.setdefault(target["labels"]["job"], set()).add(target["health"])
        return found

    try:
        wait_until(
            lambda: set(targets()) >= SCRAPED and all(h == {"up"} for h in targets().values()),
            timeout=180,
            what="every scrape target up",
            interval=5,
        )
    except TimeoutError:
        found = [
            (t["labels"]["job"], t["scrapeUrl"], t["health"], t["lastError"])
            for t in _prometheus(stack, "targets")["activeTargets"]
        ]
        pytest.fail(f"jobs expected {sorted(SCRAPED)}; targets (job, url, health, error): {found}")
    # Traffic in the last rate window, so the latency quantiles have values and not only series.
    for _ in range(20):
        assert _signal(stack).status_code == 200
    time.sleep(20)  # a scrape
    dashboard = json.loads((REPO / "deploy/observability/grafana/dashboards/alphapulse.json").read_text())
    answered = {
        (panel["title"], target["expr"]): _prometheus(stack, "query", query=target["expr"])["result"]
        for panel in dashboard["panels"]
        for target in panel["targets"]
    }
    print(
        f"Prometheus: targets {sorted(targets())} all up; {len(answered)} panel queries, "
        f"{sum(len(result) for result in answered.values())} series"
    )
    empty = [key for key, result in answered.items() if not result]
    assert not empty, f"panel queries without data: {empty}"


def _alerts(stack: Stack) -> dict[str, str]:
    """The alerts the webhook was posted, name to the text a person reads, as the receiver got them."""
    address = stack.ip(stack.compose.container("webhook-receiver"), EDGE)
    bodies = httpx.get(f"http://{address}:8080/", timeout=10, trust_env=False).json()
    found = {}
    for body in map(json.loads, bodies):
        for attachment in body.get("attachments", []):
            title = attachment.get("title", "")
            if title.startswith("FIRING: "):
                found[title.removeprefix("FIRING: ").split(" ")[0]] = attachment.get("text", "")
    return found


def test_a_5xx_burst_and_a_stale_signal_reach_the_alert_webhook(stack: Stack) -> None:
    """Two faults forced for real, one after the other (a frozen Bento is not scraped, so its signal
    metrics go stale and StaleSignal could not fire beside it): the served signal's features marked
    published three hours ago (no feature build for more than two bars), then the serving Bento
    container frozen while clients ask through Caddy (Caddy answers them 5xx). Each alert goes rule,
    Alertmanager, webhook."""
    engine = make_engine(stack.database_url())
    table = ONLINE_FEATURES.c
    started = time.monotonic()
    try:
        with engine.begin() as connection:
            connection.execute(
                ONLINE_FEATURES.update()
                .where(table.symbol == SYMBOL)
                .values(ingested_at=datetime.now(UTC) - timedelta(hours=3))
            )
        wait_until(
            lambda: "StaleSignal" in _alerts(stack),
            timeout=300,
            what="StaleSignal at the webhook",
            interval=5,
        )
        stale = time.monotonic() - started
    finally:
        with engine.begin() as connection:
            connection.execute(
                ONLINE_FEATURES.update().where(table.symbol == SYMBOL).values(ingested_at=datetime.now(UTC))
            )
        engine.dispose()
    started = time.monotonic()
    bento = stack.deployer().status().active
    assert bento is not None
    load_ = Load("/signal", client=stack.api.client, extensions={"sni_hostname": stack.api.name})
    stack.engine.docker("pause", bento.container)
    load_.start()
    try:
        wait_until(
            lambda: "ApiServerErrors" in _alerts(stack),
            timeout=300,
            what="ApiServerErrors at the webhook",
            interval=5,
        )
    finally:
        load_.stop()
        stack.engine.docker("unpause", bento.container)
    alerts = _alerts(stack)
    print(
        f"alerts at the webhook: StaleSignal {stale:.0f} s after the features were aged, ApiServerErrors "
        f"{time.monotonic() - started:.0f} s after the Bento froze ({load_.total} requests meanwhile, "
        f"statuses {dict(load_.statuses)}); all received: {sorted(alerts)}"
    )
    assert "were answered 5xx" in alerts["ApiServerErrors"], alerts["ApiServerErrors"]
    assert f"{SYMBOL} {TIMEFRAME}: the signal's features are" in alerts["StaleSignal"], alerts["StaleSignal"]
    assert "Runbook: docs/DEPLOY.md#stalesignal" in alerts["StaleSignal"]
    wait_until(lambda: _signal(stack).status_code == 200, timeout=60, what="/signal answered again")


def test_signal_through_caddy_beside_direct_access(stack: Stack) -> None:
    """The same wrk, in a container on the edge network, against Caddy's site and the Bento container."""
    status = stack.deployer().status()
    assert status.active is not None
    work = stack.root / "wrk"
    work.mkdir(mode=0o755, exist_ok=True)
    (work / "signal.lua").write_text(WRK_SCRIPT)
    (work / "signal.json").write_text(json.dumps({"symbol": SYMBOL, "timeframe": TIMEFRAME}))
    key = next(f"{name}: {value}" for name, value in stack.api.headers.items())
    wrk = [
        "docker", f"--host={stack.engine.docker_host}", "run", "--rm", "--network", EDGE,
        "-v", f"{work}:/work:ro", WRK_IMAGE, "-s", "/work/signal.lua", "-H", key,
    ]  # fmt: skip
    urls = {
        "through Caddy": f"https://{DOMAINS['api']}/signal",
        "direct": f"http://{status.active.upstream}/signal",
    }
    for url in urls.values():
        load(wrk, url, "/work/signal.json", 32, 2)  # warm-up: connections, the workers' caches
    figures: dict[str, list[dict[str, float]]] = {name: [] for name in urls}
    containers = {"Caddy": stack.compose.container("caddy"), "Bento": status.active.container}
    #: CPU microseconds per request of each container, per way in: where the two cores' cycles go.
    costs: dict[str, dict[str, list[float]]] = {name: {c: [] for c in containers} for name in urls}
    for _ in range(3):
        for name, url in urls.items():
            before = {c: cpu_seconds(stack.engine, container) for c, container in containers.items()}
            figures[name].append(load(wrk, url, "/work/signal.json", 32, 10))
            requests = figures[name][-1]["requests"]
            for c, container in containers.items():
                used = cpu_seconds(stack.engine, container) - before[c]
                costs[name][c].append(used / requests * 1e6)
    for name, runs in figures.items():
        rps, p99 = (sorted(r[key] for r in runs)[1] for key in ("rps", "p99"))
        failed = sum(r["failed"] for r in runs)
        print(
            f"/signal {name}, 32 clients: {rps:.0f} req/s (median of 3 rounds), p99 {p99:.1f} ms, failed {failed:.0f}"
        )
    for name, per_container in costs.items():
        spent = ", ".join(f"{c} {sorted(v)[1]:.0f} us" for c, v in per_container.items())
        print(f"/signal {name}: CPU per request (median of 3 rounds): {spent}")
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
    assert load_.resets == [], "the switch closes no client connection"


#: The Bento container's worker processes (BentoML runs each as ``python -m _bentoml_impl.worker.service``).
FIND_WORKERS = """
import os
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        line = open(f"/proc/{pid}/cmdline", "rb").read()
    except OSError:
        continue
    if b"_bentoml_impl.worker" in line:
        print(pid)
"""


def _bento_workers(stack: Stack, container: str) -> set[int]:
    return {
        int(pid)
        for pid in stack.engine.docker("exec", container, "python", "-c", FIND_WORKERS).stdout.split()
    }


def test_a_killed_bento_worker_is_replaced_while_the_others_serve(stack: Stack) -> None:
    """kill -9 of one of the serving container's worker processes under load: BentoML starts another, the
    container keeps running, and only requests in flight on the killed worker fail (counted)."""
    status = stack.deployer().status()
    assert status.active is not None
    container = status.active.container
    workers = _bento_workers(stack, container)
    assert len(workers) >= 2, f"one worker would leave nothing serving: {workers}"
    restarts = _inspect(stack, container)["RestartCount"]
    load_ = Load("/signal", client=stack.api.client, extensions={"sni_hostname": stack.api.name})
    load_.start()
    try:
        time.sleep(3)
        victim = min(workers)
        stack.engine.docker("exec", container, "python", "-c", f"import os; os.kill({victim}, 9)")
        killed = time.monotonic()
        wait_until(
            lambda: len(_bento_workers(stack, container) - {victim}) >= len(workers),
            timeout=180,
            what="a new worker in place of the killed one",
            interval=0.5,
        )
        respawned = time.monotonic() - killed
        time.sleep(10)  # the new worker loads and takes its share of the connections
    finally:
        load_.stop()
    failed = [*load_.failures, *load_.resets]
    print(
        f"Bento worker {victim} killed under load: a new worker in {respawned:.1f} s; {load_.total} requests "
        f"through Caddy, statuses {dict(load_.statuses)}, failed {len(failed)} (in flight at the kill)"
    )
    assert _inspect(stack, container)["RestartCount"] == restarts, "the container itself kept running"
    assert len(failed) <= load_.clients, failed[:10]
