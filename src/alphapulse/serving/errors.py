"""Library errors to HTTP statuses, so every refusal is a 4xx with its reason and never a 500.

BentoML turns a raised ``BentoMLException`` into a JSON error with the exception's status; a refused
input says ``<field>: <reason>``. A stale ``/signal`` (503) answers a structured body,
``schemas.StaleSignal``, with the bar's time and age; one whose features this worker could not read yet
(503, the store unreachable) answers ``schemas.UnreachableSignal``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from http import HTTPStatus

from bentoml.exceptions import BentoMLException, NotFound, ServiceUnavailable, UnprocessableEntity
from fastapi import HTTPException

from alphapulse.money import MoneyError
from alphapulse.serving.freshness import StaleBarError
from alphapulse.serving.inputs import InputError
from alphapulse.serving.runtime import UnauthorizedError
from alphapulse.serving.signals import NoFeaturesError, StoreUnreachableError


@contextmanager
def http_errors() -> Iterator[None]:
    try:
        yield
    except (InputError, MoneyError) as error:
        raise UnprocessableEntity(str(error)) from error
    except NoFeaturesError as error:
        raise NotFound(str(error)) from error
    except StoreUnreachableError as error:
        raise ServiceUnavailable(str(error)) from error
    except UnauthorizedError as error:
        raise BentoMLException(str(error), error_code=HTTPStatus.UNAUTHORIZED) from error


@contextmanager
def route_errors() -> Iterator[None]:
    """The same mapping for routes of the service's mounted FastAPI app (which BentoML does not translate)."""
    try:
        yield
    except (InputError, MoneyError) as error:
        raise HTTPException(HTTPStatus.UNPROCESSABLE_ENTITY, detail=str(error)) from error
    except NoFeaturesError as error:
        raise HTTPException(HTTPStatus.NOT_FOUND, detail=str(error)) from error
    except StaleBarError as error:
        detail = error.stale.model_dump(mode="json")
        raise HTTPException(HTTPStatus.SERVICE_UNAVAILABLE, detail=detail) from error
    except StoreUnreachableError as error:
        detail = error.unreachable.model_dump(mode="json")
        raise HTTPException(HTTPStatus.SERVICE_UNAVAILABLE, detail=detail) from error
    except UnauthorizedError as error:
        raise HTTPException(HTTPStatus.UNAUTHORIZED, detail=str(error)) from error
