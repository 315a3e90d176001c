from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from alphapulse.money import (
    DECIMAL_PATTERN,
    Money,
    MoneyError,
    Price,
    Quantity,
    Rounding,
    ensure_storable,
    fits_storage,
    quantize,
    to_decimal,
    to_text,
)

#: Every value the exact column type stores: 20 integer and 18 fractional digits.
STORABLE = st.decimals(
    min_value=Decimal("-99999999999999999999.999999999999999999"),
    max_value=Decimal("99999999999999999999.999999999999999999"),
    places=18,
    allow_nan=False,
    allow_infinity=False,
)


class Order(BaseModel):
    price: Price
    size: Quantity
    pnl: Money


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("60685.22000000", "60685.22"),
        ("6.701255e4", "67012.55"),
        ("1E+3", "1000"),
        (12, "12"),
        (Decimal("1E+3"), "1000"),
        ("1e-8", "0.00000001"),
        ("-0.000", "0"),
        ("12345678901234.123456789012345678", "12345678901234.123456789012345678"),
    ],
)
def test_parse_accepts_exact_forms(raw: object, expected: str) -> None:
    assert to_text(to_decimal(raw)) == expected


@pytest.mark.parametrize("raw", [0.1, 1.0, float("nan")])
def test_float_is_refused_with_field_name(raw: float) -> None:
    with pytest.raises(MoneyError, match=r"^close: float .* refused"):
        to_decimal(raw, field="close")


@pytest.mark.parametrize(
    "raw",
    [
        "NaN",
        "Infinity",
        "-inf",
        Decimal("NaN"),
        Decimal("-Infinity"),
        "abc",
        "",
        True,
        None,
        " 0.5",
        "0.5\n",
        "+1",
        ".5",
        "5.",
        "1_000",
        "\u0661\u0662",
    ],
)
def test_non_numbers_are_refused(raw: object) -> None:
    with pytest.raises(MoneyError):
        to_decimal(raw, field="open")


@pytest.mark.parametrize(
    ("value", "step", "rounding", "expected"),
    [
        ("100.126", "0.01", Rounding.HALF_EVEN, "100.13"),
        ("100.125", "0.01", Rounding.HALF_EVEN, "100.12"),
        ("100.125", "0.01", Rounding.HALF_UP, "100.13"),
        ("100.129", "0.01", Rounding.DOWN, "100.12"),
        ("100.26", "0.5", Rounding.HALF_EVEN, "100.5"),
        ("-1.234", "0.01", Rounding.FLOOR, "-1.24"),
        ("0.123456789", "0.00001", Rounding.CEILING, "0.12346"),
    ],
)
def test_quantize_to_tick_with_explicit_rounding(
    value: str, step: str, rounding: Rounding, expected: str
) -> None:
    assert to_text(quantize(Decimal(value), Decimal(step), rounding=rounding)) == expected


def test_quantize_refuses_non_positive_step() -> None:
    with pytest.raises(MoneyError, match="step"):
        quantize(Decimal(1), Decimal(0), rounding=Rounding.DOWN)


@given(STORABLE, st.sampled_from([Decimal("0.01"), Decimal("0.5"), Decimal("0.00001"), Decimal(5)]))
def test_quantized_value_is_a_multiple_of_step_and_within_one_step(value: Decimal, step: Decimal) -> None:
    result = quantize(value, step, rounding=Rounding.HALF_EVEN)
    assert result % step == 0
    assert abs(result - value) <= step / 2


def test_storage_limits() -> None:
    assert fits_storage(Decimal("99999999999999999999.999999999999999999"))
    assert not fits_storage(Decimal("100000000000000000000"))
    assert not fits_storage(Decimal("0.0000000000000000001"))
    assert fits_storage(Decimal("1.0000000000000000000000"))
    with pytest.raises(MoneyError, match="NUMERIC"):
        ensure_storable(Decimal("0.0000000000000000001"), field="volume")


def test_model_serializes_money_as_strings() -> None:
    order = Order(price="67012.50", size=3, pnl="-1.25")
    assert order.price == Decimal("67012.5")
    assert json.loads(order.model_dump_json()) == {"price": "67012.5", "size": "3", "pnl": "-1.25"}


def test_model_refuses_float_naming_the_field() -> None:
    with pytest.raises(ValidationError) as raised:
        Order.model_validate_json('{"price": 67012.5, "size": "1", "pnl": "0"}')
    error = raised.value.errors()[0]
    assert error["loc"] == ("price",)
    assert "float" in error["msg"]


def test_model_refuses_negative_price_but_not_negative_money() -> None:
    with pytest.raises(ValidationError, match="size"):
        Order(price="1", size="-2", pnl="-5")
    assert Order(price="1", size="2", pnl="-5").pnl == Decimal(-5)


def test_json_schema_is_string_with_decimal_pattern() -> None:
    schema = Order.model_json_schema()
    for field in ("price", "size", "pnl"):
        assert schema["properties"][field]["type"] == "string"
        assert "pattern" in schema["properties"][field]
    assert schema["properties"]["pnl"]["pattern"] == DECIMAL_PATTERN
    assert Order.model_json_schema(mode="serialization")["properties"]["price"]["type"] == "string"


@given(STORABLE, STORABLE, STORABLE)
def test_json_round_trip_is_exact(price: Decimal, size: Decimal, pnl: Decimal) -> None:
    # copy_abs, not abs(): abs() rounds to the default context's 28 digits.
    order = Order(price=price.copy_abs(), size=size.copy_abs(), pnl=pnl)
    again = Order.model_validate_json(order.model_dump_json())
    assert (again.price, again.size, again.pnl) == (price.copy_abs(), size.copy_abs(), pnl)
    assert again.pnl.as_tuple() == to_decimal(pnl).as_tuple()


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("1e400", "out of range"),
        ("1e81", "out of range"),
        ("1e999999999", "out of range"),
        ("1e-999999999", "out of range"),
        ("1e99999999999999999999999", "exponent is too large"),
        ("9" * 81, "out of range"),
        (10**81, "out of range"),
        (Decimal("1E+999999999"), "out of range"),
    ],
)
def test_values_beyond_the_parse_range_are_refused_not_rounded(raw: object, says: str) -> None:
    with pytest.raises(MoneyError, match=f"^close: .*{says}"):
        to_decimal(raw, field="close")


def test_the_widest_accepted_values_stay_exact() -> None:
    assert to_text(to_decimal("1e79")) == "1" + "0" * 79
    assert to_text(to_decimal("1e-80")) == "0." + "0" * 79 + "1"
    assert to_text(to_decimal("9" * 80)) == "9" * 80


def test_storage_check_refuses_hostile_decimals_by_name() -> None:
    for value in (Decimal("NaN"), Decimal("sNaN"), Decimal("-Infinity"), Decimal("1E+999999999")):
        with pytest.raises(MoneyError, match=r"^volume: "):
            ensure_storable(value, field="volume")


def test_pydantic_money_is_storable_money() -> None:
    with pytest.raises(ValidationError, match="NUMERIC"):
        Order(price="1e21", size="1", pnl="0")
    with pytest.raises(ValidationError, match="out of range"):
        Order(price="1", size="1", pnl="-1e999999999")
