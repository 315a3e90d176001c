"""ASGI middleware of the service: JSON-only bodies, and keep-alive connections spread over the workers."""

from __future__ import annotations

from http import HTTPStatus

from alphapulse.serving.asgi import ASGIApp, Message, Receive, Scope, Send
from alphapulse.serving.errors import problem

ACCEPTED = frozenset({b"application/json", b""})


class JsonOnly:
    """Refuse request bodies that are not JSON before BentoML reads them.

    BentoML's endpoint wrapper parses other media types itself (multipart, form) and reports their parse
    errors as 500s; the API is JSON only, so anything else is a client error: 415 with the reason.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            media_type = _media_type(scope)
            if media_type not in ACCEPTED:
                shown = media_type[:64].decode("latin-1")
                await problem(
                    HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                    f"Content-Type {shown!r} is not supported; send application/json",
                ).send(send)
                return
        await self.app(scope, receive, send)


def _media_type(scope: Scope) -> bytes:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return bytes(value).split(b";", 1)[0].strip().lower()
    return b""


class RecycleConnections:
    """Every ``every``-th request to this worker gets its answer and then its keep-alive connection closed.

    BentoML's workers accept from one shared listening socket, so a burst of new keep-alive connections
    (a proxy filling its pool, a client starting its threads) lands mostly on whichever worker woke
    first and stays there: 32 connections split 24/8 and 31/1 over two workers here, and a worker
    holding them all halves the service's throughput. A closed connection is reopened by its client
    and accepted by the worker that is waiting in ``accept``, the least busy one, so the split evens
    out within a few rounds. The response itself is complete (``Connection: close`` is HTTP/1.1's way
    to end a persistent connection), so no request is lost or retried. Counting per worker rather than
    per connection (nginx's ``keepalive_requests``) gives each connection the same mean life of
    ``every`` requests without per-connection state, and works behind a proxy that rewrites the client.
    """

    def __init__(self, app: ASGIApp, every: int) -> None:
        self.app = app
        self.every = every
        self._served = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.every == 0:
            await self.app(scope, receive, send)
            return
        self._served += 1
        if self._served < self.every:
            await self.app(scope, receive, send)
            return
        self._served = 0

        async def closing(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), (b"connection", b"close")]}
            await send(message)

        await self.app(scope, receive, closing)
