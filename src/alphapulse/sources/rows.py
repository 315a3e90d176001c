"""The shape every candle source produces: a plain dict per bar, money already exact."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypedDict

from alphapulse.money import to_decimal
from alphapulse.timeframes import EPOCH

PRICE_FIELDS = ("open", "high", "low", "close")
MONEY_FIELDS = (*PRICE_FIELDS, "volume")


class CandleRow(TypedDict):
    exchange: str
    symbol: str
    timeframe: str
    open_time: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


@dataclass(frozen=True)
class UnreadableRow:
    """A source row that could not become a bar: kept verbatim with where it was and why it failed.

    ``line`` is the physical line in the file (1-based, counting blank and banner lines), so an editor
    opens the file at the right place.
    """

    source: str
    line: int
    field: str
    reason: str
    text: str

    def describe(self) -> str:
        return f"{self.source}: line {self.line}: {self.field}: {self.reason}"


def candle_row(
    *, exchange: str, symbol: str, timeframe: str, open_time: datetime, values: Mapping[str, Any]
) -> CandleRow:
    """Build a row; every money field goes through the Decimal policy (so a float is refused by name)."""
    money = {name: to_decimal(values[name], field=name) for name in MONEY_FIELDS}
    return CandleRow(
        exchange=exchange,
        symbol=symbol,
        timeframe=timeframe,
        open_time=open_time,
        open=money["open"],
        high=money["high"],
        low=money["low"],
        close=money["close"],
        volume=money["volume"],
    )


def from_epoch_ms(milliseconds: int) -> datetime:
    # Integer arithmetic: no float division, so no rounding at microsecond or millisecond edges.
    return EPOCH + timedelta(milliseconds=milliseconds)


def to_epoch_ms(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(milliseconds=1)
