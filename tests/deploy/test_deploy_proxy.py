"""The production Caddyfile, run by a real Caddy in front of a real `bentoml serve`.

deploy/Caddyfile is used as it is; only environment variables change: the three site
addresses become http://127.0.0.1:PORT (no TLS), every upstream is the test Bento from
proxy_target/service.py, and Caddy's admin endpoint is off. Both processes are started in
their own process groups and stopped by PID in the fixtures' teardown.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from deploy_support import DEPLOY

pytestmark = pytest.mark.integration

TARGET_DIR = Path(__file__).with_name("proxy_target")
BODY_LIMIT = 1_048_576  # default of {$MAX_REQUEST_BODY_BYTES} in the Caddyfile
UI_USER = "admin"
UI_PASSWORD = "proxy-test-password"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(url: str, until: float, process: subprocess.Popen[bytes], log: Path) -> None:
    while time.monotonic() < until:
        if process.poll() is not None:
            pytest.fail(f"process exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        try:
            if httpx.get(url, timeout=2, trust_env=False).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"{url} not ready in time:\n{log.read_text()[-4000:]}")


def _stop(process: subprocess.Popen[bytes] | None) -> None:
    """Stop a process we started, and its children, by its own process-group id."""
    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


class Bento:
    """A real `bentoml serve` of proxy_target/service.py that the test can stop and start again."""

    def __init__(self, home: Path) -> None:
        self.port = _free_port()
        self.home = home
        self.log = home / "bentoml.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "BENTOML_HOME": str(self.home / "bentoml"),
            "BENTOML_DO_NOT_TRACK": "true",
        }
        command = [sys.executable, "-m", "bentoml", "serve", "service:ProxyTarget"]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [*command, "--host", "127.0.0.1", "--port", str(self.port)],
                cwd=TARGET_DIR,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _wait_for(f"http://127.0.0.1:{self.port}/readyz", time.monotonic() + 60, self.process, self.log)

    def stop(self) -> None:
        _stop(self.process)
        self.process = None


class Proxy:
    def __init__(self, api: int, prefect: int, mlflow: int, grafana: int, metrics: int, api_key: str) -> None:
        self.api = f"http://127.0.0.1:{api}"
        self.prefect = f"http://127.0.0.1:{prefect}"
        self.mlflow = f"http://127.0.0.1:{mlflow}"
        self.grafana = f"http://127.0.0.1:{grafana}"
        self.metrics = f"http://127.0.0.1:{metrics}"
        self.api_port = api
        self.prefect_api_key = api_key


@pytest.fixture(scope="module")
def caddy_bin() -> str:
    path = shutil.which("caddy")
    if path is None:
        pytest.skip("caddy binary not found (install it with: apt-get install -y caddy)")
    return path


@pytest.fixture(scope="module")
def bento(caddy_bin: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bento]:
    server = Bento(tmp_path_factory.mktemp("bento"))
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def proxy(caddy_bin: str, bento: Bento, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    home = tmp_path_factory.mktemp("caddy")
    password_hash = subprocess.run(
        [caddy_bin, "hash-password", "--plaintext", UI_PASSWORD],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.strip()
    proxy = Proxy(_free_port(), _free_port(), _free_port(), _free_port(), _free_port(), secrets.token_hex(24))
    upstream = f"127.0.0.1:{bento.port}"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "CADDY_ADMIN": "off",
        "ALPHAPULSE_DOMAIN": proxy.api,
        "PREFECT_DOMAIN": proxy.prefect,
        "MLFLOW_DOMAIN": proxy.mlflow,
        "GRAFANA_DOMAIN": proxy.grafana,
        "CADDY_METRICS_LISTEN": proxy.metrics,
        # The serving colour, and the other one with nothing listening (between rollouts).
        "BENTO_BLUE": upstream,
        "BENTO_GREEN": f"127.0.0.1:{_free_port()}",
        "PREFECT_UPSTREAM": upstream,
        "MLFLOW_UPSTREAM": upstream,
        "GRAFANA_UPSTREAM": upstream,
        "ACME_EMAIL": "ops@example.invalid",
        "UI_BASIC_AUTH_USER": UI_USER,
        "UI_BASIC_AUTH_HASH": password_hash,
        "PREFECT_API_KEY": proxy.prefect_api_key,
    }
    log = home / "caddy.log"
    process = None
    try:
        with log.open("ab") as handle:
            process = subprocess.Popen(
                [caddy_bin, "run", "--config", str(DEPLOY / "Caddyfile"), "--adapter", "caddyfile"],
                cwd=home,
                env=env,
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _wait_for(f"{proxy.api}/readyz", time.monotonic() + 30, process, log)
        yield proxy
    finally:
        _stop(process)


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=15, trust_env=False) as http:
        yield http


def _raw_get(port: int, path: str) -> tuple[int, bytes]:
    """GET with the path sent byte for byte (HTTP clients normalise '//' and '/./')."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


# --- the configuration as Caddy itself reads it ---------------------------------------------


def _walk(node: object) -> Iterator[dict[str, object]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


def test_caddyfile_sets_timeouts_on_the_server_and_every_upstream(caddy_bin: str, tmp_path: Path) -> None:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "ALPHAPULSE_DOMAIN": "api.example.com",
        "PREFECT_DOMAIN": "prefect.example.com",
        "MLFLOW_DOMAIN": "mlflow.example.com",
        "GRAFANA_DOMAIN": "grafana.example.com",
        "ACME_EMAIL": "ops@example.com",
        "UI_BASIC_AUTH_USER": UI_USER,
        "UI_BASIC_AUTH_HASH": "$2a$14$" + "a" * 53,
        "PREFECT_API_KEY": "k" * 48,
    }
    result = subprocess.run(
        [caddy_bin, "adapt", "--config", str(DEPLOY / "Caddyfile"), "--adapter", "caddyfile"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=True,
    )
    config = json.loads(result.stdout)
    assert config["admin"]["listen"] == "localhost:2019", "admin API only inside the container"
    servers = {tuple(server["listen"]): server for server in config["apps"]["http"]["servers"].values()}
    assert set(servers) == {(":443",), (":2020",)}, "the sites, and the metrics listener"
    for server in servers.values():
        assert "metrics" in server, "HTTP metrics by status code"
        for timeout in ("read_header_timeout", "read_timeout", "idle_timeout"):
            assert server.get(timeout), f"server {timeout} not set"
    proxies = [h for h in _walk(config) if h.get("handler") == "reverse_proxy"]
    assert len(proxies) == 5  # api, prefect (token), prefect (login), mlflow, grafana
    dials = [upstream["dial"] for handler in proxies for upstream in handler["upstreams"]]
    assert {"alphapulse-bento-blue:3000", "alphapulse-bento-green:3000"} <= set(dials), "both colours"
    (bento,) = [h for h in proxies if "health_checks" in h]
    assert bento["health_checks"]["active"]["uri"] == "/admitted", "the deployer's admission decides"
    assert bento["load_balancing"]["selection_policy"]["policy"] == "first"
    for handler in proxies:
        transport = handler["transport"]
        assert transport["dial_timeout"], "dial timeout not set"
        assert transport["response_header_timeout"], "upstream response timeout not set"
        # Before uvicorn's 5 s keep-alive and the deployer's drain: no request meets a closing connection.
        assert transport["keep_alive"]["idle_timeout"] == 2_000_000_000
    limits = [h["max_size"] for h in _walk(config) if h.get("handler") == "request_body"]
    assert sorted(limits) == [BODY_LIMIT, 10_000_000, 512_000_000]


# --- the public API -------------------------------------------------------------------------


def test_api_requests_reach_the_bento_through_the_proxy(proxy: Proxy, client: httpx.Client) -> None:
    response = client.post(f"{proxy.api}/echo", json={"text": "hello through caddy"})
    assert response.status_code == 200
    assert response.json() == {"text": "hello through caddy", "length": 19}
    assert client.get(f"{proxy.api}/healthz").status_code == 200
    assert client.get(f"{proxy.api}/readyz").status_code == 200


def test_proxy_sets_security_headers_and_hides_the_server(proxy: Proxy, client: httpx.Client) -> None:
    response = client.get(f"{proxy.api}/readyz")
    assert "server" not in response.headers
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "max-age" in response.headers["strict-transport-security"]


@pytest.mark.parametrize(
    "path", ["/metrics", "/metrics/", "/METRICS", "//metrics", "/./metrics", "/%6detrics", "/metrics?x=1"]
)
def test_metrics_are_refused_through_the_proxy(proxy: Proxy, bento: Bento, path: str) -> None:
    direct_status, direct_body = _raw_get(bento.port, "/metrics")
    assert direct_status == 200, "the Bento itself does serve metrics"
    assert b"bentoml_" in direct_body
    status, body = _raw_get(proxy.api_port, path)
    assert status in {403, 404}, f"{path} -> {status}"
    assert b"bentoml_" not in body


def test_oversized_body_is_refused(proxy: Proxy, client: httpx.Client) -> None:
    big = {"text": "x" * (BODY_LIMIT + 1000)}
    assert client.post(f"{proxy.api}/echo", json=big).status_code == 413


def test_oversized_chunked_body_is_refused(proxy: Proxy, client: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"text": "'
        for _ in range(40):
            yield b"x" * 65536
        yield b'"}'

    response = client.post(
        f"{proxy.api}/echo", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


def test_body_just_under_the_limit_is_accepted(proxy: Proxy, client: httpx.Client) -> None:
    text = "y" * (BODY_LIMIT - 100)
    response = client.post(f"{proxy.api}/echo", json={"text": text})
    assert response.status_code == 200
    assert response.json()["length"] == len(text)


# --- the UIs ----------------------------------------------------------------------------------


@pytest.mark.parametrize("site", ["prefect", "mlflow", "grafana"])
def test_uis_require_basic_auth(proxy: Proxy, client: httpx.Client, site: str) -> None:
    base = getattr(proxy, site)
    anonymous = client.get(f"{base}/readyz")
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].lower().startswith("basic")
    assert client.get(f"{base}/readyz", auth=(UI_USER, "wrong-password")).status_code == 401
    assert client.get(f"{base}/readyz", auth=(UI_USER, UI_PASSWORD)).status_code == 200


def test_ci_bearer_token_reaches_the_prefect_api_only(proxy: Proxy, client: httpx.Client) -> None:
    good = {"authorization": f"Bearer {proxy.prefect_api_key}"}
    bad = {"authorization": f"Bearer {proxy.prefect_api_key[:-1]}x"}
    assert client.post(f"{proxy.prefect}/api/health", headers=good).json() == {"status": "ok"}
    assert client.post(f"{proxy.prefect}/api/health", headers=bad).status_code == 401
    assert client.post(f"{proxy.prefect}/api/health", headers={"authorization": "Bearer"}).status_code == 401
    # The token opens /api on the Prefect site, nothing else.
    assert client.get(f"{proxy.prefect}/readyz", headers=good).status_code == 401
    assert client.get(f"{proxy.mlflow}/readyz", headers=good).status_code == 401


# --- upstream outage --------------------------------------------------------------------------


def test_stopped_upstream_gives_an_error_then_200_once_back(
    proxy: Proxy, bento: Bento, client: httpx.Client
) -> None:
    bento.stop()
    try:
        down = client.get(f"{proxy.api}/readyz")
        # 502 while Caddy still counts it healthy, 503 ("no upstreams available") once its check failed.
        assert down.status_code in {502, 503}
    finally:
        bento.start()
    deadline = time.monotonic() + 30
    status = None
    while time.monotonic() < deadline:
        status = client.get(f"{proxy.api}/readyz").status_code
        if status == 200:
            break
        time.sleep(0.5)
    assert status == 200
    assert client.post(f"{proxy.api}/echo", json={"text": "back"}).json()["text"] == "back"


def test_the_metrics_listener_counts_what_clients_were_answered(proxy: Proxy, client: httpx.Client) -> None:
    """What Prometheus scrapes (deploy/observability/prometheus.yml): answers per status code beside the
    count of every request, the two series ApiServerErrors divides."""
    assert client.get(f"{proxy.api}/readyz").status_code == 200
    text = client.get(f"{proxy.metrics}/metrics").text
    answered = [
        line for line in text.splitlines() if line.startswith("caddy_http_request_duration_seconds_count{")
    ]
    assert any('code="200"' in line for line in answered), "counted per status code (the alert rules' label)"
    assert any(line.startswith("caddy_http_requests_total{") for line in text.splitlines())


def test_grafana_gets_no_ui_login_header(proxy: Proxy, client: httpx.Client) -> None:
    """The UI login stops at Caddy: Grafana would take its Authorization header for a Grafana login."""
    echoed = client.post(f"{proxy.grafana}/echo-headers", auth=(UI_USER, UI_PASSWORD))
    assert echoed.status_code == 200, echoed.text
    assert "authorization" not in {name.lower() for name in echoed.json()}
