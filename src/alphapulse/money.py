"""The Decimal policy: every price, quantity and amount in AlphaPulse goes through this module.

Money never passes through ``float``: a float has already lost the exchange's exact value, so floats are
refused outright (with the field's name) instead of being converted. On the wire money is a JSON
string; in the store it is NUMERIC(38, 18) or the exact canonical text. This module is the single place
that knows those limits.
"""

from __future__ import annotations

import decimal
import re
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Final

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

#: NUMERIC(38, 18): 20 digits before the point, 18 after. The store enforces exactly this.
MAX_INTEGER_DIGITS: Final = 20
MAX_FRACTION_DIGITS: Final = 18
#: What a money string on the wire may look like (plain notation, optional sign and fraction).
DECIMAL_PATTERN: Final = r"^-?[0-9]+(\.[0-9]+)?$"
_PLAIN_OR_SCIENTIFIC = re.compile(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$")
#: Enough precision that no arithmetic on NUMERIC(38,18) values is ever rounded by the context.
_CONTEXT: Final = decimal.Context(prec=80, traps=[decimal.InvalidOperation, decimal.DivisionByZero])


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
    """Parse an exact decimal from ``str``, ``int`` or ``Decimal``; refuse float, bool, NaN, Infinity."""
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
        text = value.strip()
        if not _PLAIN_OR_SCIENTIFIC.match(text):
            raise MoneyError(field, f"{value!r} is not a decimal number")
        result = Decimal(text)
    else:
        raise MoneyError(field, f"{type(value).__name__} is not accepted; use a decimal string or an integer")
    if not result.is_finite():
        raise MoneyError(field, f"{value!r} is not finite")
    return canonical(result)


def canonical(value: Decimal) -> Decimal:
    """The one representation of a number: no exponent, no trailing fractional zeros, no negative zero."""
    if value.is_zero():
        return Decimal(0)
    normalized = value.normalize(_CONTEXT)
    exponent = normalized.as_tuple().exponent
    assert isinstance(exponent, int)
    return normalized if exponent <= 0 else normalized.quantize(Decimal(1), context=_CONTEXT)


def to_text(value: Decimal) -> str:
    """Canonical plain-notation text, as sent on the wire and kept in SQLite."""
    return format(canonical(value), "f")


def fits_storage(value: Decimal) -> bool:
    """Whether ``value`` is representable in NUMERIC(38, 18) without rounding."""
    _sign, digits, exponent = canonical(value).as_tuple()
    assert isinstance(exponent, int)
    fraction = max(0, -exponent)
    integer = max(0, len(digits) + exponent)
    return fraction <= MAX_FRACTION_DIGITS and integer <= MAX_INTEGER_DIGITS


def ensure_storable(value: Decimal, *, field: str = "value") -> Decimal:
    if not fits_storage(value):
        raise MoneyError(
            field,
            f"{to_text(value)} does not fit NUMERIC(38, 18) "
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
    return to_decimal(value, field=_field_name(info))


def _parse_non_negative(value: Any, info: Any) -> Decimal:
    field = _field_name(info)
    result = to_decimal(value, field=field)
    if result < 0:
        raise MoneyError(field, f"{to_text(result)} is negative")
    return result


def _field_name(info: Any) -> str:
    name = getattr(info, "field_name", None)
    return name if isinstance(name, str) else "value"


_AS_STRING = PlainSerializer(to_text, return_type=str, when_used="json")


def _schema(description: str, *, signed: bool) -> WithJsonSchema:
    pattern = DECIMAL_PATTERN if signed else r"^[0-9]+(\.[0-9]+)?$"
    return WithJsonSchema(
        {"type": "string", "pattern": pattern, "description": description, "examples": ["67012.55"]}
    )


Price = Annotated[
    Decimal,
    BeforeValidator(_parse_non_negative),
    _AS_STRING,
    _schema("Price as an exact decimal string; never a float.", signed=False),
]
Quantity = Annotated[
    Decimal,
    BeforeValidator(_parse_non_negative),
    _AS_STRING,
    _schema("Quantity/volume as an exact decimal string; never a float.", signed=False),
]
Money = Annotated[
    Decimal,
    BeforeValidator(_parse_signed),
    _AS_STRING,
    _schema("Signed amount as an exact decimal string; never a float.", signed=True),
]

__all__ = [
    "DECIMAL_PATTERN",
    "MAX_FRACTION_DIGITS",
    "MAX_INTEGER_DIGITS",
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
