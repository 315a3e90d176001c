"""Refuse request bodies that are not JSON before BentoML reads them.

BentoML's endpoint wrapper parses other media types itself (multipart, form) and reports their parse
errors as 500s; the API is JSON only, so anything else is a client error: 415 with the reason.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

ACCEPTED = frozenset({b"application/json", b""})


class JsonOnly:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            media_type = _media_type(scope)
            if media_type not in ACCEPTED:
                await _refuse(send, media_type.decode("latin-1"))
                return
        await self.app(scope, receive, send)


def _media_type(scope: Scope) -> bytes:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return bytes(value).split(b";", 1)[0].strip().lower()
    return b""


async def _refuse(send: Send, media_type: str) -> None:
    body = json.dumps({"error": f"Content-Type {media_type!r} is not supported; send application/json"})
    await send(
        {
            "type": "http.response.start",
            "status": 415,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body.encode()})
