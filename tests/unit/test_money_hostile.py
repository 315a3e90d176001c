"""Property tests over hostile money text: the only exception that ever escapes is ``MoneyError``.

Found by fuzzing the served API: "1e400" escaped as ``decimal.InvalidOperation`` (a 500), and
"1e999999999" as an ``AssertionError`` (a 400 saying "Assertion failed, "). These strategies build
numbers from the grammar's pieces and then break each piece: huge and tiny exponents, long digit
strings, non-ASCII digits, whitespace, signs, NaN/Infinity spellings, digit separators.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from alphapulse.money import (
    DECIMAL_PATTERN,
    MAX_PLAIN_DIGITS,
    UNSIGNED_DECIMAL_PATTERN,
    Money,
    MoneyError,
    Price,
    ensure_storable,
    fits_storage,
    to_decimal,
    to_text,
)

ASCII_DIGITS = "0123456789"
#: Arabic-Indic, Devanagari, Bengali, NKo, fullwidth, superscript and fraction digits: Decimal() reads
#: most of them as numbers, the wire grammar must not.
OTHER_DIGITS = "\u0660\u0661\u0669\u0966\u0967\u09e6\u07c0\uff10\uff11\uff19\u00b2\u00bd"
BLANKS = ["", " ", "\t", "\n", "\r\n", "\u00a0", "\u2003", "\u3000", "\ufeff"]
SIGNS = ["", "", "-", "+", "--", "\u2212", "-+"]
SPELLINGS = [
    "NaN",
    "nan",
    "-NaN",
    "sNaN",
    "-sNaN12",
    "NaN123",
    "Inf",
    "-inf",
    "Infinity",
    "+Infinity",
    "-INFINITY",
    "\u221e",
    "1_000",
    "1,5",
    "0x1f",
    "1e",
    "e5",
    "1e+",
    ".",
    "-",
    "",
    "1..2",
    "1.2.3",
    ".5",
    "5.",
    "1e5.5",
]
EXPONENTS = st.one_of(
    st.integers(-100, 100),
    st.sampled_from([-(10**9), 10**9, -999_999_999, 999_999_999, 999_999, 10**6, 400, 81, 80, 79, -81]),
    st.integers(-(10**40), 10**40),
)


@st.composite
def numberish(draw: st.DrawFn) -> str:
    digits = st.text(alphabet=ASCII_DIGITS, min_size=1, max_size=30)
    hostile_digits = st.text(alphabet=ASCII_DIGITS + OTHER_DIGITS, min_size=0, max_size=30)
    integer = draw(st.one_of(digits, hostile_digits, st.integers(1, 5000).map(lambda n: "9" * n)))
    fraction = draw(st.none() | digits | hostile_digits)
    exponent = draw(st.none() | EXPONENTS)
    text = draw(st.sampled_from(SIGNS)) + integer
    if fraction is not None:
        text += "." + fraction
    if exponent is not None:
        text += draw(st.sampled_from("eE")) + (
            f"+{exponent}" if exponent >= 0 and draw(st.booleans()) else str(exponent)
        )
    return draw(st.sampled_from(BLANKS)) + text + draw(st.sampled_from(BLANKS))


HOSTILE = st.one_of(numberish(), st.sampled_from(SPELLINGS), st.text(max_size=40))


class Quote(BaseModel):
    price: Price
    pnl: Money


def _parse(text: str) -> Decimal | MoneyError:
    try:
        return to_decimal(text, field="close")
    except MoneyError as error:
        return error


@settings(max_examples=600)
@given(HOSTILE)
@example("1e400")
@example("1e81")
@example("1e999999999")
@example("-1e-999999999")
@example("1e99999999999999999999999")
def test_only_money_error_escapes_parsing(text: str) -> None:
    parsed = _parse(text)
    if isinstance(parsed, MoneyError):
        assert parsed.field == "close"
        assert str(parsed).startswith("close: ")
        return
    # Accepted: exact, and written back plainly within the parse range.
    assert Decimal(to_text(parsed)) == Decimal(text)
    assert len(to_text(parsed).lstrip("-").replace(".", "")) <= MAX_PLAIN_DIGITS + 1


@settings(max_examples=600)
@given(HOSTILE)
def test_the_documented_pattern_is_the_accepted_grammar(text: str) -> None:
    """Text outside the OpenAPI pattern is refused; text inside it fails only on range, never form."""
    parsed = _parse(text)
    if re.fullmatch(DECIMAL_PATTERN, text) is None:
        assert isinstance(parsed, MoneyError)
    elif isinstance(parsed, MoneyError):
        assert "out of range" in parsed.reason


#: A Decimal's own exponent limit on 64-bit CPython is about 10**18; beyond it no Decimal exists.
DECIMAL_EXPONENTS = st.one_of(
    st.integers(-100, 100), st.sampled_from([-(10**9), 10**9, 400, 81, -81]), st.integers(-(10**17), 10**17)
)
DECIMALS = st.builds(
    lambda sign, digits, exponent: Decimal((sign, tuple(digits), exponent)),
    st.sampled_from([0, 1]),
    st.lists(st.integers(0, 9), min_size=1, max_size=120),
    DECIMAL_EXPONENTS,
)
SPECIALS = st.sampled_from([Decimal("NaN"), Decimal("-sNaN"), Decimal("Infinity"), Decimal("-Infinity")])


def _storable(value: Decimal) -> Decimal | MoneyError:
    try:
        return ensure_storable(value, field="volume")
    except MoneyError as error:
        return error


@settings(max_examples=600)
@given(st.one_of(DECIMALS, SPECIALS))
def test_only_money_error_escapes_the_storage_check(value: Decimal) -> None:
    kept = _storable(value)
    if isinstance(kept, MoneyError):
        assert kept.field == "volume"
        assert not fits_storage(value)
        return
    assert kept is value
    assert fits_storage(value)
    assert Decimal(to_text(value)) == value


def _quote(body: dict[str, str]) -> Quote | ValidationError:
    try:
        return Quote.model_validate(body)
    except ValidationError as error:
        return error


@settings(max_examples=400)
@given(HOSTILE, st.sampled_from(["price", "pnl"]))
def test_pydantic_refusals_are_validation_errors_naming_the_field(text: str, field: str) -> None:
    quote = _quote({"price": "1", "pnl": "0", field: text})
    pattern = UNSIGNED_DECIMAL_PATTERN if field == "price" else DECIMAL_PATTERN
    if isinstance(quote, ValidationError):
        (problem,) = quote.errors()
        assert problem["loc"] == (field,)
        assert f"{field}: " in problem["msg"]
    else:
        assert re.fullmatch(pattern, text)


@pytest.mark.parametrize("text", ["-0", "-0.00", "-0e5"])
def test_a_negative_zero_price_is_refused_like_its_pattern_says(text: str) -> None:
    quote = _quote({"price": text, "pnl": "0"})
    assert isinstance(quote, ValidationError)
    message = quote.errors()[0]["msg"]
    assert "price: " in message
    assert "minus sign" in message
    assert _quote({"price": "1", "pnl": text}) == Quote(price=Decimal("1"), pnl=Decimal("0"))
