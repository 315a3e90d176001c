"""``alphapulse replay-exchange``: what to replay, from when, how fast; then serve it until stopped."""

from __future__ import annotations

import logging
import math
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from types import FrameType

from alphapulse.replay.clock import ReplayClock, wall_ms
from alphapulse.replay.faults import FaultPlan, parse_fault
from alphapulse.replay.market import ReplayMarket
from alphapulse.replay.series import Series, load_csv
from alphapulse.replay.server import ReplayHTTPServer, log
from alphapulse.sources.bundled import CANDLES_FILE, CANDLES_SOURCE, bundled_path
from alphapulse.sources.csv_candles import parse_time
from alphapulse.sources.rows import from_epoch_ms, to_epoch_ms

#: Without ``--start`` the replay begins this long before the recording ends.
DEFAULT_LEAD = timedelta(days=7)


@dataclass(frozen=True)
class ReplayOptions:
    """The command's options, parsed: files per symbol, the clock, planned faults."""

    files: Sequence[tuple[str, Path]] = ()
    start: datetime | None = None
    speed: float = 1.0
    origin: datetime | None = None
    shift_to_now: bool = False
    faults: Mapping[int, str] = field(default_factory=dict)

    @classmethod
    def parse(
        cls,
        *,
        csv: Sequence[str],
        start: str | None,
        speed: float,
        origin: str | None,
        shift_to_now: bool,
        fault: Sequence[str],
    ) -> ReplayOptions:
        """The command line's text; a ValueError names the option at fault."""
        return cls(
            files=[parse_file_option(item) for item in csv],
            start=_moment(start, "start"),
            speed=speed,
            origin=_moment(origin, "origin"),
            shift_to_now=shift_to_now,
            faults=dict(parse_fault(item) for item in fault),
        )


def parse_file_option(text: str) -> tuple[str, Path]:
    """``SYMBOL=FILE`` as given to ``--csv``, e.g. ``ETH/USDT=eth_1h.csv.gz``."""
    symbol, separator, path = text.partition("=")
    if not separator or not symbol.strip() or not path.strip():
        raise ValueError(f"csv: {text!r} is not SYMBOL=FILE, e.g. ETH/USDT=eth_1h.csv")
    return symbol.strip(), Path(path.strip())


def _moment(text: str | None, name: str) -> datetime | None:
    if text is None:
        return None
    try:
        return parse_time(text)
    except ValueError as error:
        raise ValueError(f"{name}: {text!r} is not an ISO time such as 2025-09-01T00:00Z") from error


def load_series(files: Sequence[tuple[str, Path]]) -> list[Series]:
    """Each file as its symbol's bars, plus the bundled BTC/USDT hourly candles unless a file is BTC/USDT."""
    named = [symbol for symbol, _ in files]
    duplicates = sorted({s for s in named if named.count(s) > 1})
    if duplicates:
        raise ValueError(f"csv: {', '.join(duplicates)} given more than once")
    series = [load_csv(symbol, path) for symbol, path in files]
    if CANDLES_SOURCE.symbol not in named:
        series.insert(0, _bundled(bundled_path(CANDLES_FILE)))
    return series


@lru_cache(maxsize=1)
def _bundled(path: Path) -> Series:
    """The bundled recording, read once per process (it is immutable, and 43,780 rows take seconds)."""
    return load_csv(CANDLES_SOURCE.symbol, path)


def build_market(options: ReplayOptions, *, wall: Callable[[], int] = wall_ms) -> ReplayMarket:
    series = load_series(options.files)
    end = max(s.bars[-1].open_ms + s.step_ms for s in series)
    start = to_epoch_ms(options.start) if options.start else end - DEFAULT_LEAD // timedelta(milliseconds=1)
    clock = ReplayClock.starting(
        start,
        speed=options.speed,
        origin_ms=to_epoch_ms(options.origin) if options.origin else None,
        shift_to_now=options.shift_to_now,
        grid_ms=math.lcm(*(s.step_ms for s in series)),
        wall=wall,
    )
    return ReplayMarket(series, clock)


def describe(market: ReplayMarket) -> list[str]:
    """What is being replayed, in market time, for the operator's log."""
    clock = market.clock
    lines = [
        f"clock: market time {from_epoch_ms(clock.now()):%Y-%m-%d %H:%M:%S} UTC, "
        f"{clock.speed:g}x wall time; recorded history shifted by {timedelta(milliseconds=clock.shift_ms)}"
    ]
    for series in market.series.values():
        first, last = series.bars[0].open_ms, series.bars[-1].open_ms
        lines.append(
            f"{series.symbol}: {len(series.bars):,} {series.interval} bars "
            f"{from_epoch_ms(first):%Y-%m-%d %H:%M} .. {from_epoch_ms(last):%Y-%m-%d %H:%M} "
            f"(also served as {', '.join(series.intervals()[1:]) or 'nothing coarser'})"
        )
    return lines


def serve(
    market: ReplayMarket, faults: FaultPlan, *, host: str, port: int, announce: Callable[[str], None]
) -> None:
    """Serve until SIGTERM or SIGINT (also as PID 1 in a container, where SIGTERM has no default action)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False  # the CLI's handler on "alphapulse" would print every request line twice
    server = ReplayHTTPServer((host, port), market, faults)
    signal.signal(signal.SIGTERM, _stop)
    try:
        announce(f"replay exchange on {server.url}")
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def _stop(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt
