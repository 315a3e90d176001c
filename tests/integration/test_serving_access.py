"""Who may call the service, how often, with what: keys, scopes, limits and hostile clients, over real HTTP.

The server is the session's (tests/integration/conftest.py): two ``bentoml serve`` workers counting
limits in one Redis database, loopback trusted as a proxy so each test speaks from addresses of its own
(X-Forwarded-For) and one test's wrong keys never slow another's requests.
"""

from __future__ import annotations

import re
import statistics
import threading
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest

from alphapulse.access.keys import revoke_key
from alphapulse.serving.access import FAILURE_DELAY
from alphapulse.store import make_engine
from tests.integration.conftest import AUTH_FAILURES, CORS_ORIGIN, UNLIMITED, Server, World
from tests.support.served_world import SYMBOL, TIMEFRAME

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SIGNAL = {"symbol": SYMBOL, "timeframe": TIMEFRAME}
KEYED = [
    ("POST", "/signal"),
    ("POST", "/predict"),
    ("POST", "/predict_batch"),
    ("POST", "/sentiment"),
    ("GET", "/models/status"),
    ("GET", "/models/performance"),
    ("POST", "/admin/reload"),
]


def _assert_error_shape(response: httpx.Response, status: int, error: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error, body
    assert isinstance(body["message"], str)
    assert body["message"]
    assert set(body) <= {"error", "message", "field", "detail"}
    return body


@pytest.mark.parametrize(("method", "path"), KEYED)
def test_every_endpoint_but_the_probes_needs_a_key(server: Server, method: str, path: str) -> None:
    response = httpx.request(method, server.base + path, json={}, headers={"X-Forwarded-For": "192.0.2.1"})
    _assert_error_shape(response, 401, "unauthorized")
    assert response.headers["www-authenticate"].startswith("ApiKey")


def test_a_key_outside_its_scopes_gets_403_and_bearer_works_too(world: World, server: Server) -> None:
    token, _ = world.key("signal-only", ["signal"], {"signal": UNLIMITED["signal"]})
    bearer = {"Authorization": f"Bearer {token}"}
    assert httpx.post(f"{server.base}/signal", json=SIGNAL, headers=bearer).status_code == 200
    for method, path in KEYED[1:]:
        response = httpx.request(method, server.base + path, json={}, headers=bearer)
        _assert_error_shape(response, 403, "forbidden")


def test_a_revoked_key_is_refused_at_once_by_every_worker(world: World, server: Server) -> None:
    token, key_id = world.key("soon-revoked", ["signal"], {"signal": UNLIMITED["signal"]})
    with server.client(token) as http:
        assert http.post("/signal", json=SIGNAL).status_code == 200
    engine = make_engine(world.settings.database_url)
    revoke_key(engine, key_id)
    engine.dispose()
    # A new connection per request: the two workers take turns accepting, so both answer some of them;
    # none may still honour the key (it is checked against the store on every request).
    statuses = Counter(
        httpx.post(f"{server.base}/signal", json=SIGNAL, headers={"X-API-Key": token}).status_code
        for _ in range(40)
    )
    assert statuses == Counter({401: 40})


def test_limits_are_one_count_shared_by_both_workers(world: World, server: Server) -> None:
    token, _ = world.key("limited", ["signal"], {"signal": "30/hour"})
    statuses: list[httpx.Response] = []
    lock = threading.Lock()

    def client() -> None:
        for _ in range(10):
            # A fresh connection each time, so the requests spread over both workers.
            response = httpx.post(
                f"{server.base}/signal", json=SIGNAL, headers={"X-API-Key": token}, timeout=60
            )
            with lock:
                statuses.append(response)

    threads = [threading.Thread(target=client) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    counted = Counter(response.status_code for response in statuses)
    assert counted == Counter({200: 30, 429: 30}), counted
    refused = next(response for response in statuses if response.status_code == 429)
    _assert_error_shape(refused, 429, "rate_limited")
    assert 0 < int(refused.headers["retry-after"]) <= 3600


def test_wrong_keys_are_one_short_line_each_counted_and_slowed(world: World, server: Server) -> None:
    wrong = {"X-Forwarded-For": "203.0.113.9", "X-API-Key": "ap_000000000000_" + "x" * 43}
    budget = int(AUTH_FAILURES.split("/")[0])
    before = server.log.read_text()
    with httpx.Client(base_url=server.base, timeout=60) as http:
        fast = [http.post("/signal", json=SIGNAL, headers=wrong) for _ in range(budget)]
        slowed = [http.post("/signal", json=SIGNAL, headers=wrong) for _ in range(3)]
        # The same address with a valid key is not held up (a shared NAT).
        valid = http.post("/signal", json=SIGNAL, headers={**wrong, "X-API-Key": world.token})
    for response in fast + slowed:
        _assert_error_shape(response, 401, "unauthorized")
    # Compared with each other rather than with absolute bounds: a loaded machine slows every request.
    usual = statistics.median(r.elapsed.total_seconds() for r in fast)
    assert min(r.elapsed.total_seconds() for r in slowed) >= usual + 0.9 * FAILURE_DELAY
    assert valid.status_code == 200
    assert valid.elapsed.total_seconds() < usual + 0.5 * FAILURE_DELAY
    added = server.log.read_text()[len(before) :]
    refusals = [line for line in added.splitlines() if "203.0.113.9" in line]
    assert len(refusals) == budget + 3
    assert all(len(line) < 300 and "authentication refused" in line for line in refusals)
    assert "Traceback" not in added
    metrics = httpx.get(f"{server.base}/metrics").text
    assert re.search(r'alphapulse_auth_failures_total\{reason="invalid"\} [1-9]', metrics)
    assert re.search(r'alphapulse_access_refused_total\{reason="slowed",scope="signal"\} [1-9]', metrics)


def test_bodies_are_capped_per_endpoint_announced_or_streamed(world: World, server: Server) -> None:
    with server.client(world.token) as http:
        big = http.post("/signal", content=b'{"symbol": "' + b"A" * 4096 + b'", "timeframe": "1h"}')
        _assert_error_shape(big, 413, "payload_too_large")

        def chunks() -> Iterator[bytes]:
            yield b'{"symbol": "'
            for _ in range(64):
                yield b"A" * 1024
            yield b'", "timeframe": "1h"}'

        streamed = http.post("/signal", content=chunks())
        _assert_error_shape(streamed, 413, "payload_too_large")
        huge = http.post("/predict", content=b"[" + b"1," * 600_000 + b"1]")
        _assert_error_shape(huge, 413, "payload_too_large")


def test_answers_never_echo_unbounded_input_and_unknown_fields_are_refused(
    world: World, server: Server
) -> None:
    with server.client(world.token) as http:
        long_symbol = http.post("/signal", json={"symbol": "B" * 900, "timeframe": "1h"})
        body = _assert_error_shape(long_symbol, 400, "invalid_request")
        assert body["field"] == "symbol"
        assert len(long_symbol.content) < 400
        assert "BBBBBBBBBB" not in long_symbol.text
        long_path = http.get("/models/" + "x" * 5000)
        _assert_error_shape(long_path, 404, "not_found")
        assert len(long_path.content) < 400
        extra = http.post("/signal", json={**SIGNAL, "side": "long"})
        assert _assert_error_shape(extra, 400, "invalid_request")["field"] == "side"
        batch = http.post("/predict_batch", json={"rows": [], "priority": 1})
        assert _assert_error_shape(batch, 400, "invalid_request")["field"] == "priority"
        predict = http.post("/predict", json={**SIGNAL, "candles": [], "notes": "x"})
        _assert_error_shape(predict, 400, "invalid_request")


def test_the_secret_appears_in_no_log_line(world: World, server: Server) -> None:
    token, _ = world.key("logged", ["signal"], {"signal": "1/hour"})
    with server.client(token) as http:
        http.post("/signal", json=SIGNAL)
        http.post("/signal", json=SIGNAL)  # over the limit: refused, maybe logged
        http.post("/signal", json=SIGNAL, headers={"X-API-Key": token[:-1] + "!"})  # malformed
        http.post("/signal", json=SIGNAL, headers={"X-API-Key": token[:-2] + "zz"})  # wrong secret
    secret = token.rsplit("_", 1)[1]
    log = server.log.read_text()
    assert secret[:12] not in log
    assert world.token.rsplit("_", 1)[1][:12] not in log


def test_models_status_and_performance(world: World, server: Server) -> None:
    with server.client(world.token) as http:
        status = http.get("/models/status").json()
        assert {model["role"] for model in status["models"]} == {"champion", "challenger"}
        assert all(model["loaded_at"] for model in status["models"])
        assert status["bento"] is None  # served from the checkout, not from a Bento
        for _ in range(3):
            assert http.post("/signal", json=SIGNAL).status_code == 200
        performance = http.get("/models/performance").json()
    champions = [row for row in performance["models"] if row["role"] == "champion"]
    assert champions, performance
    for row in champions:
        assert row["symbol"] == SYMBOL
        assert row["horizon_bars"] >= 1
        assert row["requests"] >= row["bars"] >= 1
        assert 0 <= row["resolved"] <= row["bars"]
        assert 0 <= row["abstained"] <= row["resolved"]
        if row["resolved"] > row["abstained"]:  # bars answered flat are not judged
            assert row["accuracy_low"] <= row["accuracy"] <= row["accuracy_high"]


def test_cors_answers_the_configured_origin_only(server: Server) -> None:
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x-api-key"}
    allowed = httpx.options(f"{server.base}/signal", headers={"Origin": CORS_ORIGIN, **preflight})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == CORS_ORIGIN
    other = httpx.options(
        f"{server.base}/signal", headers={"Origin": "https://elsewhere.example", **preflight}
    )
    assert "access-control-allow-origin" not in other.headers
