"""Client candles and headlines into the feature builder's input frames, refusing what it cannot use.

Per-candle checks are in ``schemas``; here are the ones across candles: order, duplicates, the bar
grid, bars that have not closed yet, and whether the window reaches back to the last bar's anchor (the
feature set's real minimum, see ``features.matrix``), when the client's bars are to be the whole window
(``serving.history`` completes a shorter one from the store). Each refusal names the offending field.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd

from alphapulse.features import FeatureConfig, online_window_bars
from alphapulse.serving.schemas import CandleIn, HeadlineIn
from alphapulse.store.queries import candles_frame, news_frame
from alphapulse.timeframes import on_grid, timeframe_delta


class InputError(ValueError):
    """A request the service cannot answer; ``field`` is the JSON path of the culprit."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class OnlineWindow:
    candles: pd.DataFrame
    news: pd.DataFrame
    window_start: datetime
    as_of: datetime


def client_window(
    candles: Sequence[CandleIn], times: Sequence[datetime], headlines: Sequence[HeadlineIn], anchor: datetime
) -> OnlineWindow:
    """The window of the client's bars (``times``: their checked open times, reaching ``anchor``)."""
    rows = [
        {**candle.model_dump(), "open_time": moment} for candle, moment in zip(candles, times, strict=True)
    ]
    window_start = next(moment for moment in times if moment >= anchor)
    return OnlineWindow(
        candles=candles_frame(rows),
        news=headlines_frame(headlines),
        window_start=window_start,
        as_of=times[-1],
    )


def checked_times(candles: Sequence[CandleIn], config: FeatureConfig, now: datetime) -> list[datetime]:
    """The candles' open times (UTC) once they are strictly ascending, on the grid and closed."""
    if not candles:
        raise InputError("candles", "no candles sent")
    timeframe = config.timeframe
    times = [candle.open_time.astimezone(UTC) for candle in candles]
    for position, (before, after) in enumerate(itertools.pairwise(times), start=1):
        if after == before:
            raise InputError(f"candles[{position}].open_time", f"duplicate bar {after.isoformat()}")
        if after < before:
            raise InputError(
                f"candles[{position}].open_time", f"{after.isoformat()} is before the previous bar"
            )
    for position, moment in enumerate(times):
        if not on_grid(moment, timeframe):
            raise InputError(
                f"candles[{position}].open_time", f"{moment.isoformat()} is not a {timeframe} bar"
            )
    last = times[-1]
    if last + timeframe_delta(timeframe) > now:
        raise InputError(
            f"candles[{len(times) - 1}].open_time", f"the {timeframe} bar at {last} has not closed"
        )
    return times


def short_window(times: Sequence[datetime], anchor: datetime, config: FeatureConfig) -> str:
    """Why candles starting after the last bar's anchor cannot be answered from themselves alone."""
    return (
        f"{len(times)} candles from {times[0].isoformat()}; the bar at {times[-1].isoformat()} needs candles "
        f"from {anchor.isoformat()} (the last {online_window_bars(config)} closed bars always suffice)"
    )


def headlines_frame(headlines: Sequence[HeadlineIn]) -> pd.DataFrame:
    """The client's headlines as the news frame the feature builder takes."""
    return news_frame(
        [
            {"published_at": h.published_at, "title": h.title, "summary": None, "source": "request"}
            for h in headlines
        ]
    )
