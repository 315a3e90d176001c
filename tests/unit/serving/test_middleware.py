from __future__ import annotations

import asyncio
from typing import Any

import httpx

from alphapulse.serving import JsonOnly, RecycleConnections


async def _echo(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def _post(content_type: str | None) -> httpx.Response:
    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=JsonOnly(_echo))
        headers = {"content-type": content_type} if content_type else {}
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.post("/signal", content=b"{}", headers=headers)

    return asyncio.run(call())


def test_only_json_bodies_reach_the_service() -> None:
    assert _post("application/json").status_code == 200
    assert _post("application/json; charset=utf-8").status_code == 200
    assert _post(None).status_code == 200
    refused = _post("multipart/form-data")
    assert refused.status_code == 415
    assert "multipart/form-data" in refused.json()["message"]
    assert refused.json()["error"] == "unsupported_media_type"


def _connection_headers(every: int, requests: int) -> list[str | None]:
    async def call() -> list[str | None]:
        transport = httpx.ASGITransport(app=RecycleConnections(_echo, every=every))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return [(await client.get("/signal")).headers.get("connection") for _ in range(requests)]

    return asyncio.run(call())


def test_every_nth_response_of_the_worker_closes_its_connection() -> None:
    headers = _connection_headers(every=3, requests=7)
    assert headers == [None, None, "close", None, None, "close", None]


def test_recycling_off_keeps_every_connection() -> None:
    assert _connection_headers(every=0, requests=5) == [None] * 5


def test_lifespan_events_pass_and_do_not_count() -> None:
    seen: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["type"])
        if scope["type"] == "http":
            await _echo(scope, receive, send)

    async def call() -> str | None:
        middleware = RecycleConnections(app, every=2)
        await middleware({"type": "lifespan"}, _never, _never)
        transport = httpx.ASGITransport(app=middleware)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return (await client.get("/signal")).headers.get("connection")

    assert asyncio.run(call()) is None
    assert seen == ["lifespan", "http"]


async def _never(*_args: Any) -> Any:
    raise AssertionError("not called")
