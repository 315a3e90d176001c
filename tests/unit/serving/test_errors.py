"""One error shape whoever refused: the library's refusals, schema errors, and bodies other layers wrote."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from bentoml.exceptions import BentoMLException
from pydantic import BaseModel, ValidationError, field_validator

from alphapulse.money import MoneyError, to_decimal
from alphapulse.serving.errors import (
    MAX_MESSAGE,
    OneShape,
    QuietClientErrors,
    invalid_request,
    problem,
    refusal,
)
from alphapulse.serving.freshness import StaleBarError, ensure_fresh
from alphapulse.serving.inputs import InputError
from alphapulse.serving.schemas import ErrorBody, StoreUnreachable
from alphapulse.serving.signals import NoFeaturesError, StoreUnreachableError


def _stale() -> StaleBarError:
    with pytest.raises(StaleBarError) as stale:
        ensure_fresh("BTC/USDT", "1h", datetime(2022, 1, 1, tzinfo=UTC), datetime(2023, 1, 1, tzinfo=UTC), 2)
    return stale.value


def _money() -> MoneyError:
    with pytest.raises(MoneyError) as money:
        to_decimal(1.5, field="close")
    return money.value


@pytest.mark.parametrize(
    ("error", "status", "code", "field"),
    [
        (InputError("candles[3].open_time", "duplicate bar"), 422, "unprocessable", "candles[3].open_time"),
        (_money(), 422, "unprocessable", "close"),
        (NoFeaturesError("none"), 404, "no_features", None),
        (_stale(), 503, "stale", None),
        (
            StoreUnreachableError(
                StoreUnreachable(reason="down", symbol="BTC/USDT", timeframe="1h", feature_set="abc")
            ),
            503,
            "store_unreachable",
            None,
        ),
    ],
    ids=lambda value: type(value).__name__,
)
def test_every_library_refusal_has_its_status_code_and_field(
    error: Exception, status: int, code: str, field: str | None
) -> None:
    answer = refusal(error)
    assert answer.status == status
    body = ErrorBody.model_validate_json(answer.encoded())
    assert (body.error, body.field) == (code, field)
    assert body.message == str(error)
    if code in {"stale", "store_unreachable"}:
        assert body.detail is not None
        assert body.detail.error == code


def test_messages_never_grow_with_the_input() -> None:
    answer = refusal(InputError("symbol", "no model serves " + "X" * 10_000_000))
    assert len(answer.body.message) == MAX_MESSAGE
    assert len(answer.encoded()) < 2 * MAX_MESSAGE


class _Body(BaseModel):
    price: str
    count: int

    @field_validator("price")
    @classmethod
    def _positive(cls, value: str) -> str:
        if value.startswith("-"):
            raise ValueError(f"{value} is negative")
        return value


def _errors(data: dict[str, Any]) -> list[dict[str, Any]]:
    with pytest.raises(ValidationError) as invalid:
        _Body.model_validate(data)
    return [dict(error) for error in invalid.value.errors()]


def test_schema_violations_are_400_and_rules_beyond_the_schema_422() -> None:
    broken = invalid_request(
        [{**e, "loc": ("body", *e["loc"])} for e in _errors({"price": "1", "count": "x"})]
    )
    assert broken.status == 400
    assert broken.body.field == "count"
    refused = invalid_request(_errors({"price": "-1", "count": 1}))
    assert refused.status == 422
    assert refused.body.field == "price"
    assert "-1 is negative" in refused.body.message
    nested = invalid_request([{"loc": ("body", "candles", 3, "close"), "msg": "bad", "type": "string_type"}])
    assert nested.body.field == "candles[3].close"


async def _app_answering(status: int, body: bytes, content_type: bytes) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


def _through_one_shape(status: int, body: bytes, content_type: bytes = b"application/json") -> httpx.Response:
    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=OneShape(await _app_answering(status, body, content_type)))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.post("/predict_batch", content=b"{}")

    return asyncio.run(call())


def test_other_layers_errors_are_rewritten_into_the_one_shape() -> None:
    bentoml_schema = json.dumps(
        {
            "error": "1 validation error for BatchRequest",
            "detail": [
                {"loc": ["priority"], "msg": "Extra inputs are not permitted", "type": "extra_forbidden"}
            ],
        }
    ).encode()
    rewritten = _through_one_shape(400, bentoml_schema)
    assert rewritten.status_code == 400
    assert rewritten.json() == {
        "error": "invalid_request",
        "message": "priority: Extra inputs are not permitted",
        "field": "priority",
    }
    listed = _through_one_shape(422, b'[{"error": "rows: unknown"}]')
    assert listed.json() == {"error": "unprocessable", "message": "rows: unknown"}
    text = _through_one_shape(404, b"Not Found", b"text/plain")
    assert text.json() == {"error": "not_found", "message": "Not Found"}
    assert text.headers["content-type"] == "application/json"
    ours = problem(429, "slow down", error="rate_limited").encoded()
    assert _through_one_shape(429, ours).content == ours
    assert _through_one_shape(200, b'{"fine": true}').json() == {"fine": True}


def test_client_mistakes_logged_by_bentoml_are_one_warning_line() -> None:
    try:
        _Body.model_validate({"price": 1})
    except ValidationError as error:
        record = logging.LogRecord(
            "bentoml",
            logging.ERROR,
            __file__,
            1,
            "Exception on %s [%s]",
            ("/predict_batch", "POST"),
            (type(error), error, error.__traceback__),
        )
    assert QuietClientErrors().filter(record)
    assert record.levelno == logging.WARNING
    assert record.exc_info is None
    assert record.getMessage() == "Exception on /predict_batch [POST] refused: ValidationError"
    crash = RuntimeError("bug")
    server_side = logging.LogRecord(
        "bentoml", logging.ERROR, __file__, 1, "Exception", (), (RuntimeError, crash, None)
    )
    assert QuietClientErrors().filter(server_side)
    assert server_side.exc_info is not None
    assert server_side.levelno == logging.ERROR
    refused = BentoMLException("rows: bad", error_code=400)  # type: ignore[arg-type]
    client_side = logging.LogRecord(
        "bentoml", logging.ERROR, __file__, 1, "x", (), (BentoMLException, refused, None)
    )
    QuietClientErrors().filter(client_side)
    assert client_side.exc_info is None
