"""The access gate on its own: an ASGI app behind it, keys in a real SQLite store, limits in memory."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.exc import OperationalError

from alphapulse.access import keys
from alphapulse.access.keys import create_key, revoke_key
from alphapulse.serving import access
from alphapulse.serving.access import Access
from alphapulse.settings import Settings
from alphapulse.store import make_engine, upgrade


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = Settings(
        home=tmp_path / "home",
        serving_key_limits={"signal": "3/minute", "predict": "100/second", "models": "100/second"},
        serving_auth_failure_limit="2/minute",
        serving_predict_concurrency=1,
        serving_trusted_proxies=["10.0.0.0/8"],
    )
    settings.ensure_dirs()
    engine = make_engine(settings.database_url)
    upgrade(engine)
    engine.dispose()
    return settings


def _key(settings: Settings, scopes: list[str]) -> tuple[str, str]:
    engine = make_engine(settings.database_url)
    issued = create_key(engine, f"client-{len(scopes)}-{'-'.join(scopes)}", scopes)
    engine.dispose()
    return issued.token, issued.info.key_id


async def _echo(scope: Any, receive: Any, send: Any) -> None:
    """Reads the whole body (as the service does), then says who the gate admitted."""
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        size += len(message.get("body", b""))
        if not message.get("more_body", False):
            break
    if scope["path"] == "/predict":
        await asyncio.sleep(0.3)
    body = json.dumps({"client": scope.get("state", {}).get("client"), "size": size}).encode()
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]}
    )
    await send({"type": "http.response.body", "body": body})


@pytest.fixture
def gate(settings: Settings) -> Access:
    return Access(_echo, settings)


def _call(gate: Access, *requests: tuple[str, str, dict[str, str], Any]) -> list[httpx.Response]:
    """The requests sent concurrently, from 127.0.0.1."""

    async def call() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=gate, client=("127.0.0.1", 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return list(
                await asyncio.gather(
                    *(
                        client.request(method, path, headers=headers, content=body)
                        for method, path, headers, body in requests
                    )
                )
            )

    return asyncio.run(call())


def test_keys_and_scopes(gate: Access, settings: Settings) -> None:
    token, key_id = _key(settings, ["signal"])
    none, good, bearer, scope, unknown, probe = _call(
        gate,
        ("POST", "/signal", {}, b"{}"),
        ("POST", "/signal", {"X-API-Key": token}, b"{}"),
        ("POST", "/signal", {"Authorization": f"Bearer {token}"}, b"{}"),
        ("GET", "/models/status", {"X-API-Key": token}, None),
        ("GET", "/nowhere", {"X-API-Key": token}, None),
        ("GET", "/healthz", {}, None),
    )
    assert none.status_code == 401
    assert none.json()["error"] == "unauthorized"
    assert good.json()["client"] == bearer.json()["client"] == key_id
    assert scope.status_code == 403
    assert unknown.status_code == 404
    assert probe.status_code == 200  # a probe needs no key
    assert probe.json()["client"] is None


def test_rate_limit_answers_429_with_retry_after(gate: Access, settings: Settings) -> None:
    token, _ = _key(settings, ["signal"])
    answers = _call(gate, *[("POST", "/signal", {"X-API-Key": token}, b"{}")] * 5)
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 429, 429]
    refused = next(a for a in answers if a.status_code == 429)
    assert refused.json()["error"] == "rate_limited"
    assert 1 <= int(refused.headers["retry-after"]) <= 60


def test_bodies_over_the_cap_are_refused_announced_or_streamed(gate: Access, settings: Settings) -> None:
    token, _ = _key(settings, ["predict", "signal"])

    async def chunks() -> Any:
        for _ in range(8):
            yield b"x" * 256

    announced, streamed = _call(
        gate,
        ("POST", "/signal", {"X-API-Key": token}, b"x" * 2048),
        ("POST", "/signal", {"X-API-Key": token}, chunks()),
    )
    assert announced.status_code == streamed.status_code == 413
    assert streamed.json()["error"] == "payload_too_large"


def test_predict_waits_for_a_slot_and_is_refused_when_none_frees(
    gate: Access, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    token, _ = _key(settings, ["predict"])
    monkeypatch.setattr(access, "SLOT_WAIT", 0.4)
    answers = _call(gate, *[("POST", "/predict", {"X-API-Key": token}, b"{}")] * 3)
    # One slot, 0.3 s per request: the second waits and gets it, the third would wait 0.6 s.
    assert sorted(a.status_code for a in answers) == [200, 200, 429]
    busy = next(a for a in answers if a.status_code == 429)
    assert busy.json()["error"] == "busy"
    assert busy.headers["retry-after"] == "1"


def test_a_revoked_key_is_refused_at_once_and_keys_survive_a_store_outage(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    token, key_id = _key(settings, ["signal"])
    other, _ = _key(settings, ["signal", "models"])
    gate = Access(_echo, settings)  # a worker starting reads the key table, the copy it falls back on
    assert _call(gate, ("POST", "/signal", {"X-API-Key": token}, b"{}"))[0].status_code == 200

    def unreachable(*_: Any) -> None:
        raise OperationalError("SELECT", {}, Exception("connection refused"))

    monkeypatch.setattr(access, "verify_key", unreachable)
    known, also, wrong = _call(
        gate,
        ("POST", "/signal", {"X-API-Key": token}, b"{}"),
        ("POST", "/signal", {"X-API-Key": other}, b"{}"),
        ("POST", "/signal", {"X-API-Key": token[:-2] + "zz"}, b"{}"),
    )
    assert (known.status_code, also.status_code, wrong.status_code) == (200, 200, 401)
    monkeypatch.setattr(access, "read_key_table", unreachable)
    fresh = Access(_echo, settings)  # a worker that started during the outage never read the table
    (unverifiable,) = _call(fresh, ("POST", "/signal", {"X-API-Key": token}, b"{}"))
    assert unverifiable.status_code == 503
    assert unverifiable.json()["error"] == "store_unreachable"
    monkeypatch.setattr(access, "verify_key", keys.verify_key)
    monkeypatch.setattr(access, "read_key_table", keys.read_key_table)
    engine = make_engine(settings.database_url)
    revoke_key(engine, key_id)
    engine.dispose()
    assert _call(gate, ("POST", "/signal", {"X-API-Key": token}, b"{}"))[0].status_code == 401


def test_the_client_address_behind_a_trusted_proxy(gate: Access) -> None:
    scope = {
        "client": ("10.1.2.3", 1),
        "headers": [(b"x-forwarded-for", b"198.51.100.1, 203.0.113.5, 10.9.9.9")],
    }
    assert gate._source(scope) == "203.0.113.5"  # the nearest hop our proxies did not add
    direct = {"client": ("192.0.2.7", 1), "headers": [(b"x-forwarded-for", b"198.51.100.1")]}
    assert gate._source(direct) == "192.0.2.7"  # anyone else's header is not believed
