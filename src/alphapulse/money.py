"""The Decimal policy: every price, quantity and amount in AlphaPulse goes through this module.

Money never passes through ``float``: a float has already lost the exchange's exact value, so floats are
refused outright (with the field's name) instead of being converted. On the wire money is a JSON
string; in the store it is NUMERIC(38, 18) or the exact canonical text. This module is the single place
that knows those limits, and its one grammar (``DECIMAL_PATTERN``) is both what the parser accepts and
what the OpenAPI document promises. Every refusal, whatever the input (exponents that overflow the
context, a million digits, NaN spellings, non-ASCII digits), is a :class:`MoneyError` naming the field:
no ``decimal`` signal, assertion or silent rounding escapes.
"""

from __future__ import annotations

import decimal
import re
from collections.abc import Callable
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Final

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema
from pydantic_core import PydanticCustomError

#: NUMERIC(38, 18): 20 digits before the point, 18 after. The store enforces exactly this.
MAX_INTEGER_DIGITS: Final = 20
MAX_FRACTION_DIGITS: Final = 18
#: Digits of a number's plain notation (integer plus fraction digits) that parsing accepts at all. Far
#: beyond what can be stored, so a too-large value is refused by the storage check with its real limits;
#: but bounded, so "1e999999999" or a million-digit string is refused at once instead of being expanded,
#: rounded by the context, or overflowing it.
MAX_PLAIN_DIGITS: Final = 80
#: What a money string on the wire may look like: ASCII digits, an optional minus sign, an optional
#: fraction, an optional exponent ("67012.55", "-1.25", "6.701255e4", "1E-8"). No whitespace, no "+"
#: sign, no ".5" or "5.", no digit separators, no NaN/Infinity. Parsing accepts exactly this grammar.
DECIMAL_PATTERN: Final = r"^-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?$"
#: The same for values that cannot be negative (prices, quantities): no sign at all.
UNSIGNED_DECIMAL_PATTERN: Final = r"^[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?$"
_DECIMAL = re.compile(DECIMAL_PATTERN)
_UNSIGNED_DECIMAL = re.compile(UNSIGNED_DECIMAL_PATTERN)
#: Enough precision that no arithmetic on NUMERIC(38,18) values is ever rounded by the context.
_CONTEXT: Final = decimal.Context(
    prec=MAX_PLAIN_DIGITS, traps=[decimal.InvalidOperation, decimal.DivisionByZero]
)
#: Characters of a refused value quoted in its error message.
_SHOWN: Final = 40


class MoneyError(ValueError):
    """A value that cannot be money; the message names the field and the reason."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class Rounding(StrEnum):
    """The rounding modes a caller must choose from explicitly when quantizing."""

    HALF_EVEN = decimal.ROUND_HALF_EVEN
    HALF_UP = decimal.ROUND_HALF_UP
    DOWN = decimal.ROUND_DOWN
    UP = decimal.ROUND_UP
    FLOOR = decimal.ROUND_FLOOR
    CEILING = decimal.ROUND_CEILING


def to_decimal(value: object, *, field: str = "value") -> Decimal:
    """Parse an exact decimal from ``str``, ``int`` or ``Decimal``; refuse everything else by name.

    Floats, booleans, NaN, Infinity, text outside ``DECIMAL_PATTERN`` and values beyond
    ``MAX_PLAIN_DIGITS`` raise :class:`MoneyError` naming ``field``; nothing else escapes.
    """
    if isinstance(value, bool):
        raise MoneyError(field, f"boolean {value!r} is not a number")
    if isinstance(value, float):
        raise MoneyError(
            field,
            f"float {value!r} refused: a float cannot hold an exact decimal; send the value as a string",
        )
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        result = _parse_text(value, field)
    else:
        raise MoneyError(field, f"{type(value).__name__} is not accepted; use a decimal string or an integer")
    if not result.is_finite():
        raise MoneyError(field, f"{_shown(value)} is not finite")
    integer, fraction = _plain_digits(result)
    if integer + fraction > MAX_PLAIN_DIGITS:
        raise MoneyError(field, _out_of_range(_shown(value), integer, fraction))
    return canonical(result)


def _parse_text(text: str, field: str) -> Decimal:
    if not _DECIMAL.fullmatch(text):
        raise MoneyError(
            field, f"{_shown(text)} is not a decimal number (digits, optional '-', fraction and exponent)"
        )
    try:
        return Decimal(text)
    except decimal.InvalidOperation as error:  # an exponent beyond what Decimal itself can hold
        raise MoneyError(field, f"{_shown(text)} is out of range: its exponent is too large") from error


def _shown(value: object) -> str:
    """A refused value as its message quotes it: whole when short, else its start and its length."""
    text = value if isinstance(value, str) else str(value)
    if len(text) <= _SHOWN:
        return repr(value) if isinstance(value, str) else text
    return f"{text[:_SHOWN]!r}... ({len(text):,} characters)"


def _out_of_range(shown: str, integer: int, fraction: int) -> str:
    return (
        f"{shown} is out of range: {integer:,} integer and {fraction:,} fraction digits in plain notation "
        f"(money has at most {MAX_INTEGER_DIGITS} integer and {MAX_FRACTION_DIGITS} fraction digits)"
    )


def _plain_digits(value: Decimal) -> tuple[int, int]:
    """Integer and fraction digits of a finite value's canonical plain notation.

    Read off the digit tuple alone, with no context arithmetic: exact and cheap whatever the exponent,
    so range checks never overflow, round or expand the number they are checking.
    """
    if value.is_zero():
        return 0, 0
    _sign, digits, exponent = value.as_tuple()
    exponent = int(exponent)
    trailing = 0
    for digit in reversed(digits):
        if digit:
            break
        trailing += 1
    return max(0, len(digits) + exponent), max(0, -(exponent + trailing))


def canonical(value: Decimal) -> Decimal:
    """The one representation of a number: no exponent, no trailing fractional zeros, no negative zero.

    Exact for every value ``to_decimal`` accepts; a non-finite or out-of-range value is a
    :class:`MoneyError` (never a rounded result).
    """
    if not value.is_finite():
        raise MoneyError("value", f"{value} is not finite")
    if value.is_zero():
        return Decimal(0)
    integer, fraction = _plain_digits(value)
    if integer + fraction > MAX_PLAIN_DIGITS:
        raise MoneyError("value", _out_of_range(_shown(value), integer, fraction))
    normalized = value.normalize(_CONTEXT)
    exponent = int(normalized.as_tuple().exponent)
    return normalized if exponent <= 0 else normalized.quantize(Decimal(1), context=_CONTEXT)


def to_text(value: Decimal) -> str:
    """Canonical plain-notation text, as sent on the wire and kept in SQLite."""
    return format(canonical(value), "f")


def fits_storage(value: Decimal) -> bool:
    """Whether ``value`` is representable in NUMERIC(38, 18) without rounding."""
    if not value.is_finite():
        return False
    integer, fraction = _plain_digits(value)
    return fraction <= MAX_FRACTION_DIGITS and integer <= MAX_INTEGER_DIGITS


def ensure_storable(value: Decimal, *, field: str = "value") -> Decimal:
    """``value`` itself if NUMERIC(38, 18) holds it exactly, else a :class:`MoneyError` naming ``field``."""
    if not value.is_finite():
        raise MoneyError(field, f"{value} is not finite")
    if not fits_storage(value):
        integer, fraction = _plain_digits(value)
        shown = to_text(value) if integer + fraction <= MAX_PLAIN_DIGITS else _shown(value)
        raise MoneyError(
            field,
            f"{shown} does not fit NUMERIC(38, 18) "
            f"(at most {MAX_INTEGER_DIGITS} integer and {MAX_FRACTION_DIGITS} fraction digits)",
        )
    return value


def quantize(value: Decimal, step: Decimal, *, rounding: Rounding) -> Decimal:
    """Round ``value`` to a multiple of a tick or step size (which need not be a power of ten)."""
    if step <= 0:
        raise MoneyError("step", f"tick/step size must be positive, got {step}")
    units = (value / step).to_integral_value(rounding=str(rounding), context=_CONTEXT)
    return canonical(units * step)


def _parse_signed(value: Any, info: Any) -> Decimal:
    field = _field_name(info)
    return ensure_storable(to_decimal(value, field=field), field=field)


def _parse_non_negative(value: Any, info: Any) -> Decimal:
    """Refuses a minus sign even on zero: ``UNSIGNED_DECIMAL_PATTERN``, the documented grammar, has none."""
    result = _parse_signed(value, info)
    if result < 0:
        raise MoneyError(_field_name(info), f"{to_text(result)} is negative")
    if (isinstance(value, Decimal) and value.is_signed()) or (
        isinstance(value, str) and value.strip().startswith("-")
    ):
        raise MoneyError(
            _field_name(info),
            f"{value.strip() if isinstance(value, str) else value} "
            "carries a minus sign; this value cannot be negative",
        )
    return result


def _wire(parse: Callable[[Any, Any], Decimal], grammar: re.Pattern[str]) -> Callable[[Any, Any], Decimal]:
    """``parse`` for a Pydantic field, telling its two kinds of refusal apart by error type: a value that
    is not in the documented form (a float, NaN, whitespace, a sign where none may be) breaks the schema
    (``decimal_format``); one in the form but unusable (zero or out of range) is a ``value_error``. An
    HTTP service answers the first 400 and the second 422."""

    def validate(value: Any, info: Any) -> Decimal:
        try:
            return parse(value, info)
        except MoneyError as error:
            well_formed = (isinstance(value, int) and not isinstance(value, bool)) or (
                isinstance(value, str) and grammar.fullmatch(value) is not None
            )
            if well_formed:
                raise
            raise PydanticCustomError("decimal_format", "{reason}", {"reason": str(error)}) from error

    return validate


def _field_name(info: Any) -> str:
    name = getattr(info, "field_name", None)
    return name if isinstance(name, str) else "value"


_AS_STRING = PlainSerializer(to_text, return_type=str, when_used="json")


#: The Pydantic types below accept only storable values: money on the wire is money that can be kept.
_WIRE_FORMS = (
    'plain or scientific notation ("67012.55", "6.701255e4") or a JSON integer; at most '
    f"{MAX_INTEGER_DIGITS} integer and {MAX_FRACTION_DIGITS} fraction digits once written out plainly"
)


def _schema(description: str, *, signed: bool) -> WithJsonSchema:
    pattern = DECIMAL_PATTERN if signed else UNSIGNED_DECIMAL_PATTERN
    return WithJsonSchema(
        {
            "type": "string",
            "pattern": pattern,
            "description": f"{description} {_WIRE_FORMS}.",
            "examples": ["67012.55"],
        }
    )


Price = Annotated[
    Decimal,
    BeforeValidator(_wire(_parse_non_negative, _UNSIGNED_DECIMAL)),
    _AS_STRING,
    _schema("Price as an exact decimal string; never a float.", signed=False),
]
Quantity = Annotated[
    Decimal,
    BeforeValidator(_wire(_parse_non_negative, _UNSIGNED_DECIMAL)),
    _AS_STRING,
    _schema("Quantity/volume as an exact decimal string; never a float.", signed=False),
]
Money = Annotated[
    Decimal,
    BeforeValidator(_wire(_parse_signed, _DECIMAL)),
    _AS_STRING,
    _schema("Signed amount as an exact decimal string; never a float.", signed=True),
]

__all__ = [
    "DECIMAL_PATTERN",
    "MAX_FRACTION_DIGITS",
    "MAX_INTEGER_DIGITS",
    "MAX_PLAIN_DIGITS",
    "UNSIGNED_DECIMAL_PATTERN",
    "Money",
    "MoneyError",
    "Price",
    "Quantity",
    "Rounding",
    "canonical",
    "ensure_storable",
    "fits_storage",
    "quantize",
    "to_decimal",
    "to_text",
]
