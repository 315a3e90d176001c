"""One error shape for every 4xx and 5xx the service answers: ``schemas.ErrorBody``.

Refusals come from four places: the access gate (keys, limits, body sizes), the request schema
(pydantic), the serving library (unknown instrument, stale bar...) and BentoML itself (its batching
endpoint, its probes, unknown paths). The first three build a :class:`Problem` here; :class:`OneShape`,
the outermost middleware, turns whatever else arrives as an error (BentoML's ``{"error": ...}``,
Starlette's plain-text 404) into the same shape, so a client parses one body whatever failed.

One table, :data:`REFUSALS`, gives each library refusal its status and code. Messages are capped at
:data:`MAX_MESSAGE` characters: a refusal may quote a value, and an answer must never grow with the
request (a 10 MB symbol gave a 10 MB answer before).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from bentoml.exceptions import BentoMLException
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from alphapulse.money import MoneyError
from alphapulse.serving.asgi import ASGIApp, Message, Receive, Scope, Send
from alphapulse.serving.freshness import StaleBarError
from alphapulse.serving.inputs import InputError
from alphapulse.serving.schemas import ErrorBody
from alphapulse.serving.signals import NoFeaturesError, StoreUnreachableError

MAX_MESSAGE = 300
#: The logger BentoML's endpoint wrapper reports exceptions on.
BENTOML_HTTP_LOGGER = "bentoml._internal.server.http_app"

#: The code of each status when nothing more specific is known.
CODES: dict[int, str] = {
    HTTPStatus.BAD_REQUEST: "invalid_request",
    HTTPStatus.UNAUTHORIZED: "unauthorized",
    HTTPStatus.FORBIDDEN: "forbidden",
    HTTPStatus.NOT_FOUND: "not_found",
    HTTPStatus.METHOD_NOT_ALLOWED: "method_not_allowed",
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE: "payload_too_large",
    HTTPStatus.UNSUPPORTED_MEDIA_TYPE: "unsupported_media_type",
    HTTPStatus.UNPROCESSABLE_ENTITY: "unprocessable",
    HTTPStatus.TOO_MANY_REQUESTS: "rate_limited",
    HTTPStatus.INTERNAL_SERVER_ERROR: "internal",
    HTTPStatus.SERVICE_UNAVAILABLE: "unavailable",
}

#: Every refusal the serving library raises: its status and code.
REFUSALS: dict[type[Exception], tuple[HTTPStatus, str]] = {
    InputError: (HTTPStatus.UNPROCESSABLE_ENTITY, "unprocessable"),
    MoneyError: (HTTPStatus.UNPROCESSABLE_ENTITY, "unprocessable"),
    NoFeaturesError: (HTTPStatus.NOT_FOUND, "no_features"),
    StaleBarError: (HTTPStatus.SERVICE_UNAVAILABLE, "stale"),
    StoreUnreachableError: (HTTPStatus.SERVICE_UNAVAILABLE, "store_unreachable"),
}
_REFUSED = tuple(REFUSALS)


def code_of(status: int) -> str:
    return CODES.get(status, "client_error" if status < 500 else "server_error")


def capped(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE else f"{text[: MAX_MESSAGE - 1]}…"


@dataclass(frozen=True)
class Problem:
    """An error answer: its status, its body, and headers such as ``Retry-After``."""

    status: int
    body: ErrorBody
    headers: Mapping[str, str] = field(default_factory=dict)

    def encoded(self) -> bytes:
        return self.body.model_dump_json(exclude_none=True).encode()

    def response(self) -> JSONResponse:
        return JSONResponse(
            self.body.model_dump(mode="json", exclude_none=True),
            status_code=self.status,
            headers=self.headers,
        )

    async def send(self, send: Send) -> None:
        """Answer from ASGI middleware, before any application saw the request."""
        body = self.encoded()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            *((name.lower().encode(), value.encode()) for name, value in self.headers.items()),
        ]
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def problem(
    status: int,
    message: str,
    *,
    error: str | None = None,
    field: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Problem:
    body = ErrorBody(error=error or code_of(status), message=capped(message), field=field)
    return Problem(status, body, headers or {})


def refusal(error: Exception) -> Problem:
    """A library refusal as its answer (``error`` must be one of :data:`REFUSALS`)."""
    status, code = next(known for kind, known in REFUSALS.items() if isinstance(error, kind))
    detail: Any = None
    if isinstance(error, StaleBarError):
        detail = error.stale
    elif isinstance(error, StoreUnreachableError):
        detail = error.unreachable
    culprit = getattr(error, "field", None)
    body = ErrorBody(error=code, message=capped(str(error)), field=culprit, detail=detail)
    return Problem(status, body)


def invalid_request(errors: Sequence[Mapping[str, Any]]) -> Problem:
    """Schema errors as one answer naming the first culprit's field and every error's reason (the input
    itself is never quoted): 400 when the body breaks the documented schema (a missing field, a wrong
    type, an unknown field, a pattern or length), 422 when it matches the schema and only the rules
    beyond it refuse the values (``value_error``: a zero price, a high below its low, an exponent out of
    range), as a well-formed request the service cannot use is everywhere else."""
    paths = [_path(error.get("loc", ())) for error in errors]
    reasons = [
        f"{path}: {error.get('msg', 'invalid')}" if path else str(error.get("msg", "invalid"))
        for path, error in zip(paths, errors, strict=True)
    ]
    beyond_schema = bool(errors) and all(error.get("type") == "value_error" for error in errors)
    status = HTTPStatus.UNPROCESSABLE_ENTITY if beyond_schema else HTTPStatus.BAD_REQUEST
    return problem(status, "; ".join(reasons) or "invalid request", field=paths[0] if paths else None)


def _path(location: Sequence[Any]) -> str:
    """``("body", "candles", 3, "close")`` -> ``candles[3].close``."""
    text = ""
    for part in location:
        if part == "body" and not text:
            continue
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


@contextmanager
def batch_errors() -> Iterator[None]:
    """For BentoML endpoints: a library refusal becomes BentoML's error with our status (``OneShape``
    then gives its body our shape)."""
    try:
        yield
    except _REFUSED as error:
        answer = refusal(error)
        raise BentoMLException(answer.body.message, error_code=HTTPStatus(answer.status)) from error


def install(app: FastAPI) -> None:
    """The routes' refusals in the one shape: schema errors are 400 (the request is malformed; 422 is
    for a well-formed request the model cannot answer), library refusals by :data:`REFUSALS`."""

    async def schema(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        return invalid_request(error.errors()).response()

    async def library(_: Request, error: Exception) -> JSONResponse:
        return refusal(error).response()

    async def http(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, StarletteHTTPException)
        return problem(error.status_code, str(error.detail), headers=error.headers).response()

    app.add_exception_handler(RequestValidationError, schema)
    app.add_exception_handler(StarletteHTTPException, http)
    for kind in REFUSALS:
        app.add_exception_handler(kind, library)


class OneShape:
    """Outermost middleware: an error body that is not an ``ErrorBody`` yet is rewritten into one.

    Only error answers are buffered (they are small; BentoML's and Starlette's are a line of text or a
    one-key JSON object); a 2xx passes through untouched, so the hot path pays one status check.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        held: list[Message] = []

        async def shaping(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] >= 400:
                held.append(message)
                return
            if not held:
                await send(message)
                return
            if message["type"] != "http.response.body":
                return
            held.append(message)
            if message.get("more_body", False):
                return
            await _reshaped(held, send)

        await self.app(scope, receive, shaping)


async def _reshaped(held: list[Message], send: Send) -> None:
    start, *bodies = held
    body = b"".join(bytes(message.get("body", b"")) for message in bodies)
    headers = [(name, value) for name, value in start.get("headers", ()) if name.lower() not in _REPLACED]
    status = int(start["status"])
    if not _ours(body):
        answer = _translated(body, status)
        status, body = answer.status, answer.encoded()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                *headers,
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


_REPLACED = {b"content-type", b"content-length"}


def _ours(body: bytes) -> bool:
    try:
        parsed = json.loads(body)
    except ValueError:
        return False
    return isinstance(parsed, dict) and {"error", "message"} <= parsed.keys()


def _translated(body: bytes, status: int) -> Problem:
    """What the framework said, in our shape: BentoML's schema errors (``{"error": "1 validation error
    for ...", "detail": [pydantic errors]}``) as :func:`invalid_request` makes them, else the ``error``
    or ``detail`` of a JSON body (an object, or BentoML's one-element list), else the text."""
    text = body.decode("utf-8", "replace").strip()
    try:
        parsed = json.loads(text)
    except ValueError:
        return problem(status, text or HTTPStatus(status).phrase)
    if isinstance(parsed, list) and len(parsed) == 1:
        parsed = parsed[0]
    if not isinstance(parsed, dict):
        return problem(status, text)
    detail = parsed.get("detail")
    if (
        status == HTTPStatus.BAD_REQUEST
        and isinstance(detail, list)
        and all(isinstance(e, dict) for e in detail)
    ):
        return invalid_request(detail)
    said = parsed.get("error") or detail
    return problem(status, said if isinstance(said, str) else json.dumps(said))


class QuietClientErrors(logging.Filter):
    """BentoML logs every refused request body of its endpoints at ERROR with a full traceback (kilobytes
    per request: a hostile client could fill the disk). A client's mistake is one WARNING line here."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        client_error = isinstance(error, ValidationError) or (
            isinstance(error, BentoMLException) and error.error_code < HTTPStatus.INTERNAL_SERVER_ERROR
        )
        if client_error:
            record.msg = f"{record.getMessage()} refused: {type(error).__name__}"
            record.args = ()
            record.exc_info = None
            record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def quiet_client_errors() -> None:
    logging.getLogger(BENTOML_HTTP_LOGGER).addFilter(QuietClientErrors())
