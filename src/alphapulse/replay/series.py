"""Recorded candles as the replay holds them: one symbol's bars, exact, and their coarser aggregates.

Bars come from the CSV importer (so every form it reads can be replayed and every value is the file's
exact number) and are aggregated to coarser Binance intervals exactly as an exchange builds them from
trades: first open, highest high, lowest low, last close, summed volume. The sum runs in a context that
raises on any rounding, so an aggregate is exact or refused.
"""

from __future__ import annotations

import decimal
import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path

from alphapulse.sources.csv_candles import CandleCsvError, CsvSource, read_candle_csv
from alphapulse.sources.rows import to_epoch_ms

#: Binance's kline intervals the replay can serve, in milliseconds. 3d and 1M are left out: their bar
#: boundaries are not a fixed grid the replay could reproduce with certainty.
INTERVALS_MS: dict[str, int] = {
    name: seconds * 1000
    for name, seconds in {
        "1s": 1,
        "1m": 60,
        "3m": 180,
        "5m": 300,
        "15m": 900,
        "30m": 1800,
        "1h": 3600,
        "2h": 7200,
        "4h": 14400,
        "6h": 21600,
        "8h": 28800,
        "12h": 43200,
        "1d": 86400,
        "1w": 604800,
    }.items()
}
#: Weeks start on Monday (1970-01-05) on exchanges, not on the epoch's Thursday.
WEEK_ANCHOR_MS = 4 * 86_400_000
_EXACT = decimal.Context(prec=80, traps=[decimal.Inexact, decimal.InvalidOperation])


class ReplayDataError(ValueError):
    """A file the replay cannot serve as one symbol's bars; the message names the file and the reason."""


@dataclass(frozen=True, slots=True)
class Bar:
    open_ms: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal

    def just_opened(self) -> Bar:
        """The bar at the moment it opens: its open price only, no volume yet (nothing later leaks)."""
        return Bar(self.open_ms, self.open, self.open, self.open, self.open, Decimal(0))


@dataclass(frozen=True)
class Series:
    """One symbol's bars at the file's own interval, sorted by open time, one bar per open time."""

    symbol: str
    interval: str
    bars: tuple[Bar, ...]

    @property
    def step_ms(self) -> int:
        return INTERVALS_MS[self.interval]

    def shifted(self, shift_ms: int) -> Series:
        if shift_ms % self.step_ms:
            raise ValueError(f"shift: {shift_ms} ms is not a whole number of {self.interval} bars")
        return replace(self, bars=tuple(replace(bar, open_ms=bar.open_ms + shift_ms) for bar in self.bars))

    def intervals(self) -> list[str]:
        """The source interval and every Binance interval that is a whole number of its bars."""
        return [name for name, step in INTERVALS_MS.items() if step % self.step_ms == 0]


def bucket_start(open_ms: int, step_ms: int) -> int:
    anchor = WEEK_ANCHOR_MS if step_ms == INTERVALS_MS["1w"] else 0
    return (open_ms - anchor) // step_ms * step_ms + anchor


def aggregate(bars: Sequence[Bar], step_ms: int) -> list[Bar]:
    """Bars merged into ``step_ms`` buckets; a bucket with no source bar has no bar (a gap stays a gap)."""
    merged: list[Bar] = []
    group: list[Bar] = []
    for bar in bars:
        if group and bucket_start(bar.open_ms, step_ms) != bucket_start(group[0].open_ms, step_ms):
            merged.append(merge(group, step_ms))
            group = []
        group.append(bar)
    if group:
        merged.append(merge(group, step_ms))
    return merged


def merge(group: Sequence[Bar], step_ms: int) -> Bar:
    return Bar(
        open_ms=bucket_start(group[0].open_ms, step_ms),
        open=group[0].open,
        high=max(bar.high for bar in group),
        low=min(bar.low for bar in group),
        close=group[-1].close,
        volume=_exact_sum(bar.volume for bar in group),
    )


def _exact_sum(values: Iterable[Decimal]) -> Decimal:
    total = Decimal(0)
    for value in values:
        total = _EXACT.add(total, value)
    return total


def load_csv(symbol: str, path: Path) -> Series:
    """A candle file in any form the CSV importer reads; the interval is the grid the open times lie on."""
    _check_symbol(symbol)
    try:
        _form, rows = read_candle_csv(path, CsvSource(exchange="replay", symbol=symbol, timeframe="-"))
    except CandleCsvError as error:
        raise ReplayDataError(str(error)) from error
    bars = [
        Bar(to_epoch_ms(r["open_time"]), r["open"], r["high"], r["low"], r["close"], r["volume"])
        for r in rows
    ]
    return from_bars(symbol, bars, source=str(path))


def from_bars(symbol: str, bars: Iterable[Bar], *, source: str = "bars") -> Series:
    """Bars of one symbol in any order; the same bar twice is kept once, two different bars refused."""
    _check_symbol(symbol)
    by_time: dict[int, Bar] = {}
    for bar in bars:
        seen = by_time.setdefault(bar.open_ms, bar)
        if seen != bar:
            raise ReplayDataError(f"{source}: two different bars open at {bar.open_ms} ms")
    ordered = tuple(by_time[t] for t in sorted(by_time))
    if len(ordered) < 2:
        raise ReplayDataError(f"{source}: {len(ordered)} bar(s); at least 2 are needed to tell the interval")
    step = math.gcd(*(b.open_ms - a.open_ms for a, b in itertools.pairwise(ordered)))
    interval = next((name for name, ms in INTERVALS_MS.items() if ms == step), None)
    if interval is None:
        raise ReplayDataError(
            f"{source}: open times lie on a {step} ms grid, which is no Binance interval "
            f"({', '.join(INTERVALS_MS)})"
        )
    if bucket_start(ordered[0].open_ms, step) != ordered[0].open_ms:
        raise ReplayDataError(f"{source}: bars are {interval} apart but do not open on {interval} boundaries")
    return Series(symbol=symbol, interval=interval, bars=ordered)


def _check_symbol(symbol: str) -> None:
    base, _, quote = symbol.partition("/")
    if not base or not quote or not (base + quote).isalnum():
        raise ReplayDataError(f"symbol: {symbol!r} is not a unified spot symbol such as BTC/USDT")
