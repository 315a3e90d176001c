from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from alphapulse.features import FeatureConfig, anchor_time, load_config, online_window_bars
from alphapulse.money import to_text
from alphapulse.serving import CandleIn, InputError
from alphapulse.serving.inputs import OnlineWindow, checked_times, client_window
from alphapulse.sources.bundled import bundled_candles

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def whole_window(candles: list[CandleIn], config: FeatureConfig, now: datetime = NOW) -> OnlineWindow:
    """What a worker computes from when the client's bars reach back to the last bar's anchor."""
    times = checked_times(candles, config, now)
    anchor = anchor_time(pd.Timestamp(times[-1]), config).to_pydatetime()
    assert times[0] <= anchor
    return client_window(candles, times, [], anchor)


@pytest.fixture(scope="module")
def config() -> FeatureConfig:
    return load_config()


@pytest.fixture(scope="module")
def candles(config: FeatureConfig) -> list[CandleIn]:
    window = bundled_candles().iloc[-online_window_bars(config) :]
    return [
        CandleIn(
            open_time=row.open_time,
            **{name: to_text(getattr(row, name)) for name in ("open", "high", "low", "close", "volume")},
        )
        for row in window.itertuples()
    ]


def test_a_full_window_starts_at_the_anchor(candles: list[CandleIn], config: FeatureConfig) -> None:
    window = whole_window(candles, config)
    assert window.as_of == candles[-1].open_time
    assert window.window_start == anchor_time(pd.Timestamp(candles[-1].open_time), config)
    assert len(window.candles) == len(candles)
    assert window.news.empty


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        (lambda c: [*c[:10], c[9], *c[10:]], "candles[10].open_time", "duplicate bar"),
        (lambda c: [*c[:10], c[11], c[10], *c[12:]], "candles[11].open_time", "before the previous bar"),
        (lambda c: [], "candles", "no candles sent"),
    ],
)
def test_refusals_name_the_field(
    candles: list[CandleIn], config: FeatureConfig, change: object, field: str, reason: str
) -> None:
    assert callable(change)
    with pytest.raises(InputError, match=reason) as refused:
        checked_times(change(candles), config, NOW)
    assert refused.value.field == field


def test_off_grid_and_unclosed_bars_are_refused(candles: list[CandleIn], config: FeatureConfig) -> None:
    shifted = candles[-1].model_copy(update={"open_time": candles[-1].open_time + pd.Timedelta(minutes=30)})
    with pytest.raises(InputError, match="is not a 1h bar"):
        checked_times([*candles[:-1], shifted], config, NOW)
    with pytest.raises(InputError, match="has not closed"):
        checked_times(candles, config, candles[-1].open_time.astimezone(UTC))
