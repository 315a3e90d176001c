from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from alphapulse.serving import CandleIn

GOOD = {
    "open_time": "2022-01-01T00:00:00Z",
    "open": "100",
    "high": "110.5",
    "low": "90",
    "close": "105",
    "volume": "3.25",
}


def test_money_is_exact_from_strings_and_integers() -> None:
    candle = CandleIn.model_validate({**GOOD, "open": 100, "high": "1.105e2"})
    assert candle.open == Decimal(100)
    assert candle.high == Decimal("110.5")
    assert candle.model_dump(mode="json")["high"] == "110.5"


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("close", 105.0, "float 105.0 refused"),
        ("close", "NaN", "not a decimal number"),
        ("close", "Infinity", "not a decimal number"),
        ("low", "-1", "is negative"),
        ("low", "0", "not a positive price"),
        ("high", "80", "is below low"),
        ("open", "200", "open 200 is outside [low, high]"),
        ("close", "1" + "0" * 25, "does not fit NUMERIC(38, 18)"),
        ("open_time", "2022-01-01T00:00:00", "timezone"),
    ],
)
def test_bad_candles_are_refused_with_the_reason(field: str, value: object, reason: str) -> None:
    with pytest.raises(
        ValidationError, match=reason.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")
    ):
        CandleIn.model_validate({**GOOD, field: value})


def test_every_money_field_is_a_string_in_the_json_schema() -> None:
    properties = CandleIn.model_json_schema()["properties"]
    for name in ("open", "high", "low", "close", "volume"):
        assert properties[name]["type"] == "string"
