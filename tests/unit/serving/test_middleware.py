from __future__ import annotations

import asyncio
from typing import Any

import httpx

from alphapulse.serving import JsonOnly


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
    assert "multipart/form-data" in refused.json()["error"]
