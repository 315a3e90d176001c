"""How old the bar behind an answer is, and when it is too old for ``/signal`` to answer at all.

An answer is about one closed bar; its age is the time since that bar closed. ``/signal`` answers the
latest bar the pipeline prepared, so when ingestion or the feature build stops, the same bar would be
served as "the latest" for ever: beyond ``settings.serving_max_age_bars`` bars of its timeframe it is
refused (503) with the bar's time instead. ``/predict`` reports the age of the client's own last bar
and never refuses on it: the client chose that bar. The rule only needs the bar's open time and
timeframe, so it holds whatever store the bar was read from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from alphapulse.serving.schemas import StaleBar
from alphapulse.timeframes import timeframe_delta


@dataclass(frozen=True)
class BarAge:
    bar_close_time: datetime
    age_seconds: float


def bar_age(as_of: datetime, timeframe: str, now: datetime) -> BarAge:
    """The age of the bar opening at ``as_of``: seconds from its close to ``now``."""
    close = as_of + timeframe_delta(timeframe)
    return BarAge(bar_close_time=close, age_seconds=(now - close).total_seconds())


def max_age(timeframe: str, bars: float) -> timedelta:
    return timeframe_delta(timeframe) * bars


class StaleBarError(LookupError):
    """The latest prepared bar is older than the maximum age; ``stale`` is the 503 answer's body."""

    def __init__(self, stale: StaleBar) -> None:
        super().__init__(stale.reason)
        self.stale = stale


def ensure_fresh(symbol: str, timeframe: str, as_of: datetime, now: datetime, max_age_bars: float) -> BarAge:
    """The bar's age, or :class:`StaleBarError` when it closed more than ``max_age_bars`` bars ago."""
    age = bar_age(as_of, timeframe, now)
    limit = max_age(timeframe, max_age_bars)
    if age.age_seconds <= limit.total_seconds():
        return age
    reason = (
        f"the latest {symbol} {timeframe} bar ({as_of.isoformat()}) closed at "
        f"{age.bar_close_time.isoformat()}, {timedelta(seconds=round(age.age_seconds))} ago, beyond the "
        f"maximum age of {limit} ({max_age_bars:g} bars, ALPHAPULSE_SERVING_MAX_AGE_BARS): "
        "ingestion or the feature build has not run since"
    )
    raise StaleBarError(
        StaleBar(
            reason=reason,
            symbol=symbol,
            timeframe=timeframe,
            as_of=as_of,
            bar_close_time=age.bar_close_time,
            age_seconds=age.age_seconds,
            max_age_seconds=limit.total_seconds(),
        )
    )


def freshness_note(as_of: datetime | None, timeframe: str, now: datetime, max_age_bars: float) -> str:
    """What ``/signal`` will make of the latest stored bar, in one line for ``alphapulse run``."""
    if as_of is None:
        return "no stored bars: /signal has nothing to answer"
    age = bar_age(as_of, timeframe, now)
    ago = timedelta(seconds=round(age.age_seconds))
    if age.age_seconds <= max_age(timeframe, max_age_bars).total_seconds():
        return f"latest bar {as_of.isoformat()} closed {ago} ago: /signal serves it"
    return (
        f"latest bar {as_of.isoformat()} closed {ago} ago, more than {max_age_bars:g} bars: /signal will "
        "answer 503 (stale). Ingest recent candles, or set ALPHAPULSE_SERVING_MAX_AGE_BARS (e.g. 1e7) to "
        "serve old data anyway; /predict answers for candles you send"
    )
