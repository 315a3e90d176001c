"""The access gate: every request passes here before any endpoint sees it.

In order, for a path of ``serving.endpoints.ENDPOINTS`` that needs a scope:

1. a request without a key gets 401;
2. the key (``X-API-Key``, or ``Authorization: Bearer``) is verified against the store on every
   request, so a revoked key is refused at once by every worker; a failure is one short log line with
   the address and the reason (never the key) and a count in ``alphapulse_auth_failures_total``; an
   address that presented more wrong keys than ``serving_auth_failure_limit`` allows gets each further
   401 only after ``FAILURE_DELAY`` seconds (``alphapulse_access_refused_total{reason="slowed"}``);
3. the key's scopes must include the endpoint's (403 otherwise);
4. its rate limits and quotas (``serving.limits``) must allow one more request (429 and Retry-After);
5. the body may not exceed the endpoint's cap, whether announced (Content-Length) or streamed;
6. ``/predict`` waits for one of the worker's few compute slots, so a burst of predictions leaves the
   event loop, and ``/signal``, their CPU; a request that waits longer than ``SLOT_WAIT`` gets 429.

The key's id rides along in the ASGI scope's state (``client``), so the prediction log attributes each
answer to it. While the store is unreachable, keys are verified against the worker's copy of the key
table (read when the worker starts, then at most every ``TABLE_MAX_AGE`` seconds while requests come and
the store answers): the worker keeps serving its clients through an outage, as it does with its
features. A worker that never read the table answers 503 ``store_unreachable`` (the server's trouble,
not the client's).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import math
import time
from http import HTTPStatus
from math import ceil

from anyio import to_thread
from sqlalchemy.exc import SQLAlchemyError

from alphapulse.access.keys import InvalidKeyError, KeyInfo, KeyTable, read_key_table, verify_key
from alphapulse.serving import metrics
from alphapulse.serving.asgi import ASGIApp, Message, Receive, Scope, Send
from alphapulse.serving.endpoints import ENDPOINTS, KEY_HEADER, Endpoint
from alphapulse.serving.errors import Problem, problem
from alphapulse.serving.limits import RateLimits
from alphapulse.settings import Settings
from alphapulse.store import make_engine

LOGGER = logging.getLogger(__name__)

#: Seconds a /predict request may wait for a compute slot before it is refused.
SLOT_WAIT = 2.0
#: Seconds between two reads of the whole key table, the copy a worker verifies against during an outage.
TABLE_MAX_AGE = 10.0
#: Seconds a wrong key waits for its 401 once its address used up ``serving_auth_failure_limit``.
FAILURE_DELAY = 1.0
_KEY_HEADER = KEY_HEADER.lower().encode()
_BEARER = b"bearer "
#: Longest header value read as a key; anything longer is refused unread.
_MAX_KEY = 256


class Access:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self._engine = make_engine(settings.database_url)
        self._limits = RateLimits(settings)
        self._proxies = [ipaddress.ip_network(net, strict=False) for net in settings.serving_trusted_proxies]
        self._slots_size = settings.serving_predict_concurrency
        self._slots: asyncio.Semaphore | None = None
        #: The key table as last read, for store outages (module docstring).
        self._table: KeyTable | None = None
        self._table_read = -math.inf
        try:
            self._table, self._table_read = read_key_table(self._engine), time.monotonic()
        except SQLAlchemyError:
            LOGGER.warning(
                "the key table could not be read at start; keys are checked once the store answers"
            )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        endpoint = ENDPOINTS.get(scope["path"])
        if endpoint is None:
            await problem(HTTPStatus.NOT_FOUND, f"no endpoint {_shown(scope['path'])}").send(send)
            return
        if endpoint.scope is None:
            await self.app(scope, receive, send)
            return
        refused, key = await self._admit(scope, endpoint)
        if refused is not None:
            await refused.send(send)
            return
        assert key is not None
        scope.setdefault("state", {})["client"] = key.key_id
        announced = _content_length(scope)
        if announced is not None and announced > endpoint.max_body:
            await _too_large(endpoint).send(send)
            return
        receive, send = _capped(receive, send, endpoint)
        if not endpoint.limited:
            await self.app(scope, receive, send)
            return
        slots = self._slots or self._make_slots()
        try:
            await asyncio.wait_for(slots.acquire(), SLOT_WAIT)
        except TimeoutError:
            metrics.refused("busy", endpoint.scope)
            await problem(
                HTTPStatus.TOO_MANY_REQUESTS,
                "every prediction slot of this worker is busy; retry shortly",
                error="busy",
                headers={"Retry-After": "1"},
            ).send(send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            slots.release()

    def _make_slots(self) -> asyncio.Semaphore:
        self._slots = asyncio.Semaphore(self._slots_size)
        return self._slots

    async def _admit(self, scope: Scope, endpoint: Endpoint) -> tuple[Problem | None, KeyInfo | None]:
        assert endpoint.scope is not None
        source = self._source(scope)
        token = _token(scope)
        if token is None:
            return self._unauthorized(source, scope, "missing", "no key"), None
        try:
            key = await to_thread.run_sync(self._verify, token)
        except InvalidKeyError as error:
            return await self._failed(source, scope, endpoint, str(error)), None
        except _KeysUnreachableError:
            return problem(
                HTTPStatus.SERVICE_UNAVAILABLE,
                "keys cannot be verified: the store has not answered since this worker started; retry",
                error="store_unreachable",
                headers={"Retry-After": "5"},
            ), None
        if not key.allows(endpoint.scope):
            metrics.refused("scope", endpoint.scope)
            return problem(
                HTTPStatus.FORBIDDEN, f"this key may not use {scope['path']} (scope {endpoint.scope!r})"
            ), None
        wait = await self._limits.admit(key.key_id, endpoint.scope, key.limits)
        if wait is not None:
            metrics.refused("rate_limited", endpoint.scope)
            return _retry_later(wait, f"rate limit of scope {endpoint.scope!r} reached", "rate_limited"), None
        return None, key

    def _verify(self, token: str) -> KeyInfo:
        """Against the store, and the worker's copy of the key table refreshed every
        ``TABLE_MAX_AGE`` seconds meanwhile; while the store does not answer, against that copy."""
        try:
            key = verify_key(self._engine, token)
            if time.monotonic() - self._table_read > TABLE_MAX_AGE:
                self._table, self._table_read = read_key_table(self._engine), time.monotonic()
            return key
        except SQLAlchemyError:
            if self._table is None:
                raise _KeysUnreachableError from None
            return self._table.verify(token)

    async def _failed(self, source: str, scope: Scope, endpoint: Endpoint, reason: str) -> Problem:
        """A key was presented and refused. Beyond the address's budget of failures the 401 comes only
        after ``FAILURE_DELAY``: guessing slows to a crawl while the worker, waiting asynchronously, keeps
        serving; a valid key from the same address (a shared NAT) is not held up."""
        if await self._limits.failed(source):
            metrics.refused("slowed", str(endpoint.scope))
            await asyncio.sleep(FAILURE_DELAY)
        return self._unauthorized(source, scope, "invalid", reason)

    def _unauthorized(self, source: str, scope: Scope, kind: str, reason: str) -> Problem:
        metrics.auth_failed(kind)
        LOGGER.warning(
            "authentication refused: %s %s from %s: %s", scope["method"], scope["path"], source, reason
        )
        return problem(
            HTTPStatus.UNAUTHORIZED,
            f"a valid API key is required ({KEY_HEADER} header)",
            headers={"WWW-Authenticate": f'ApiKey header="{KEY_HEADER}"'},
        )

    def _source(self, scope: Scope) -> str:
        """The client's address: the peer, or the nearest untrusted X-Forwarded-For hop behind trusted
        proxies (a client can write anything into that header, so only our proxies' additions count)."""
        client = scope.get("client")
        peer = str(client[0]) if client else "unknown"
        if not self._proxies or not self._trusted(peer):
            return peer
        forwarded = [
            hop.strip()
            for name, value in scope["headers"]
            if name == b"x-forwarded-for"
            for hop in bytes(value).decode("latin-1")[:1024].split(",")
        ]
        for hop in reversed(forwarded):
            if not self._trusted(hop):
                return hop[:64]
        return peer

    def _trusted(self, address: str) -> bool:
        try:
            parsed = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(parsed in network for network in self._proxies)


class _KeysUnreachableError(Exception):
    """The store does not answer and this worker never read the key table: nobody can be verified."""


def _token(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == _KEY_HEADER and len(value) <= _MAX_KEY:
            return bytes(value).decode("latin-1").strip()
        if name == b"authorization" and len(value) <= _MAX_KEY and value[:7].lower() == _BEARER:
            return bytes(value[7:]).decode("latin-1").strip()
    return None


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _too_large(endpoint: Endpoint) -> Problem:
    return problem(
        HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"the body may not exceed {endpoint.max_body} bytes here"
    )


def _retry_later(wait: float, message: str, error: str) -> Problem:
    seconds = max(1, ceil(wait))
    return problem(
        HTTPStatus.TOO_MANY_REQUESTS,
        f"{message}; retry in {seconds} s",
        error=error,
        headers={"Retry-After": str(seconds)},
    )


def _capped(receive: Receive, send: Send, endpoint: Endpoint) -> tuple[Receive, Send]:
    """Receive that stops a body growing past the cap (chunked uploads announce no length): the client
    gets 413 and the application a disconnect, so it never parses the excess."""
    received = 0
    refused = False

    async def counting() -> Message:
        nonlocal received, refused
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > endpoint.max_body and not refused:
                refused = True
                await _too_large(endpoint).send(send)
                return {"type": "http.disconnect"}
        return message

    async def sending(message: Message) -> None:
        if not refused:
            await send(message)

    return counting, sending


def _shown(path: str) -> str:
    return path if len(path) <= 64 else f"{path[:63]}…"
