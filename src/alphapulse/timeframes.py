"""Bar timeframes ("1m", "1h", "4h", "1d", "1w"): the one parser every layer uses."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PATTERN = re.compile(r"^([1-9][0-9]*)([smhdw])$")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: The exchanges' common timeframes, quoted when a timeframe is refused (any <n><unit> is accepted).
TIMEFRAME_EXAMPLES = ("1m", "5m", "15m", "30m", "1h", "4h", "1d", "1w")


def timeframe_seconds(timeframe: str) -> int:
    match = _PATTERN.match(timeframe)
    if match is None:
        raise ValueError(f"timeframe: {timeframe!r} is not of the form <n><s|m|h|d|w>, e.g. '1h'")
    return int(match.group(1)) * _UNITS[match.group(2)]


def timeframe_delta(timeframe: str) -> timedelta:
    return timedelta(seconds=timeframe_seconds(timeframe))


def on_grid(moment: datetime, timeframe: str) -> bool:
    """Whether ``moment`` is a bar boundary (weeks are Monday-aligned as exchanges do, not epoch-aligned)."""
    seconds = timeframe_seconds(timeframe)
    offset = int((moment - EPOCH).total_seconds())
    if timeframe.endswith("w"):
        offset -= 4 * 86400  # 1970-01-01 was a Thursday; exchanges start weeks on Monday
    return offset % seconds == 0 and moment.microsecond == 0


def read_iso(text: str) -> datetime:
    """An ISO-8601 date or time in UTC; a naive one is taken to be UTC already."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise ValueError(f"{text!r} is not ISO-8601") from error
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def parse_since(value: str) -> datetime:
    """A backfill start as the CLI, the flows and the settings spell it (an ISO date or time)."""
    try:
        return read_iso(value)
    except ValueError as error:
        raise ValueError(f"since: {value!r} is not an ISO date such as 2024-01-01") from error
