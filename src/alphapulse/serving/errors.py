"""Library errors to HTTP statuses, so every refusal is a 4xx (or a 503 to retry) with its reason, never
a 500.

One table, :data:`STATUSES`, read by both ways an endpoint answers: BentoML endpoints
(:func:`http_errors`: BentoML turns a raised ``BentoMLException`` into a JSON error with its status) and
the routes of the service's mounted FastAPI app (:func:`route_errors`, which BentoML does not
translate). A refused input says ``<field>: <reason>``. On a route, a stale ``/signal`` (503) answers a
structured body, ``schemas.StaleSignal``, with the bar's time and age; one whose features this worker
could not read yet (503, the store unreachable) answers ``schemas.UnreachableSignal``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from http import HTTPStatus
from typing import Any

from bentoml.exceptions import BentoMLException
from fastapi import HTTPException

from alphapulse.money import MoneyError
from alphapulse.serving.admin import UnauthorizedError
from alphapulse.serving.freshness import StaleBarError
from alphapulse.serving.inputs import InputError
from alphapulse.serving.signals import NoFeaturesError, StoreUnreachableError

#: Every refusal the serving library raises, and its status.
STATUSES: dict[type[Exception], HTTPStatus] = {
    InputError: HTTPStatus.UNPROCESSABLE_ENTITY,
    MoneyError: HTTPStatus.UNPROCESSABLE_ENTITY,
    NoFeaturesError: HTTPStatus.NOT_FOUND,
    StaleBarError: HTTPStatus.SERVICE_UNAVAILABLE,
    StoreUnreachableError: HTTPStatus.SERVICE_UNAVAILABLE,
    UnauthorizedError: HTTPStatus.UNAUTHORIZED,
}
_REFUSALS = tuple(STATUSES)


def http_errors() -> AbstractContextManager[None]:
    """For BentoML endpoints, whose error body is ``{"error": <message>}``."""
    return _translated(lambda error, status: BentoMLException(str(error), error_code=status))


def route_errors() -> AbstractContextManager[None]:
    """For routes of the mounted FastAPI app, whose error body is ``{"detail": ...}``."""
    return _translated(lambda error, status: HTTPException(status, detail=_detail(error)))


@contextmanager
def _translated(answer: Callable[[Exception, HTTPStatus], Exception]) -> Iterator[None]:
    """A refusal raised inside becomes the framework's error with the status of the one table."""
    try:
        yield
    except _REFUSALS as error:
        status = next(status for kind, status in STATUSES.items() if isinstance(error, kind))
        raise answer(error, status) from error


def _detail(error: Exception) -> Any:
    if isinstance(error, StaleBarError):
        return error.stale.model_dump(mode="json")
    if isinstance(error, StoreUnreachableError):
        return error.unreachable.model_dump(mode="json")
    return str(error)
