"""Both ways an endpoint answers (a BentoML endpoint, a route of the mounted app) refuse alike."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from bentoml.exceptions import BentoMLException
from fastapi import HTTPException

from alphapulse.money import MoneyError, to_decimal
from alphapulse.serving.admin import UnauthorizedError
from alphapulse.serving.errors import STATUSES, http_errors, route_errors
from alphapulse.serving.freshness import StaleBarError, ensure_fresh
from alphapulse.serving.inputs import InputError
from alphapulse.serving.schemas import StoreUnreachable
from alphapulse.serving.signals import NoFeaturesError, StoreUnreachableError


def _refusals() -> list[Exception]:
    with pytest.raises(StaleBarError) as stale:
        ensure_fresh("BTC/USDT", "1h", datetime(2022, 1, 1, tzinfo=UTC), datetime(2023, 1, 1, tzinfo=UTC), 2)
    with pytest.raises(MoneyError) as money:
        to_decimal(1.5, field="close")
    unreachable = StoreUnreachable(reason="down", symbol="BTC/USDT", timeframe="1h", feature_set="abc")
    return [
        InputError("candles", "no candles sent"),
        money.value,
        NoFeaturesError("none"),
        stale.value,
        StoreUnreachableError(unreachable),
        UnauthorizedError("admin key required"),
    ]


@pytest.mark.parametrize("error", _refusals(), ids=lambda error: type(error).__name__)
def test_every_refusal_has_one_status_on_both_ways(error: Exception) -> None:
    status = next(status for kind, status in STATUSES.items() if isinstance(error, kind))
    with pytest.raises(BentoMLException) as endpoint, http_errors():
        raise error
    with pytest.raises(HTTPException) as route, route_errors():
        raise error
    assert endpoint.value.error_code == route.value.status_code == status
    assert endpoint.value.message == str(error)
