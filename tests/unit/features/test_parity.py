"""Train/serve parity: ``build_online`` on a window reproduces ``build``'s row of the full history bit for bit.

The anchored grid makes a bar's features independent of where the history starts and of how many bars
follow it, including across time gaps (the grid counts time, not rows).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alphapulse.features import (
    FeatureConfig,
    FeatureMatrix,
    anchor_time,
    build,
    build_online,
    online_window_bars,
)

_FIXTURES = [HealthCheck.function_scoped_fixture]


@pytest.fixture(scope="session")
def history(all_candles: pd.DataFrame) -> pd.DataFrame:
    """About nine months of hourly bars covering the headline period, so sentiment is exercised too."""
    start = pd.Timestamp("2021-09-01", tz="UTC")
    return all_candles[all_candles["open_time"] >= start].iloc[:6500].reset_index(drop=True)


@pytest.fixture(scope="session")
def full(history: pd.DataFrame, news: pd.DataFrame, config: FeatureConfig) -> FeatureMatrix:
    return build(history, news, config)


def _row(matrix: FeatureMatrix, position: int) -> pd.DataFrame:
    return matrix.frame[list(matrix.feature_columns)].iloc[[position]]


def _assert_same_bits(online: pd.DataFrame, offline: pd.DataFrame) -> None:
    assert online.index.equals(offline.index)
    assert list(online.columns) == list(offline.columns)
    assert online.to_numpy().tobytes() == offline.to_numpy().tobytes()


@settings(max_examples=60, deadline=None, suppress_health_check=_FIXTURES)
@given(data=st.data())
def test_online_window_is_bit_identical_to_the_full_history_row(
    history: pd.DataFrame, news: pd.DataFrame, config: FeatureConfig, full: FeatureMatrix, data: st.DataObject
) -> None:
    needed = online_window_bars(config)
    end = data.draw(st.integers(min_value=needed, max_value=len(history)), label="end")
    extra = data.draw(st.integers(min_value=0, max_value=min(300, end - needed)), label="extra")
    window = history.iloc[end - needed - extra : end]
    _assert_same_bits(build_online(window, news, config), _row(full, end - 1))


def test_the_minimum_window_is_the_anchor_not_a_row_count(
    history: pd.DataFrame, news: pd.DataFrame, config: FeatureConfig, full: FeatureMatrix
) -> None:
    last = len(history) - 1  # the window runs to the history's last bar
    anchor = anchor_time(history["open_time"].iloc[last], config)
    window = history[history["open_time"] >= anchor]
    assert len(window) <= online_window_bars(config)
    _assert_same_bits(build_online(window, news, config), _row(full, last))
    with pytest.raises(ValueError, match="needs candles from"):
        build_online(window.iloc[1:], news, config)


@settings(max_examples=15, deadline=None, suppress_health_check=_FIXTURES)
@given(data=st.data())
def test_features_do_not_depend_on_where_the_history_starts(
    history: pd.DataFrame, news: pd.DataFrame, config: FeatureConfig, full: FeatureMatrix, data: st.DataObject
) -> None:
    skip = data.draw(st.integers(min_value=1, max_value=2000), label="skip")
    later = build(history.iloc[skip:], news, config)
    columns = list(full.feature_columns)
    # Bars whose anchor is inside both histories are computed from the same bars.
    first_common = history["open_time"].iloc[skip]
    anchors = pd.DatetimeIndex([anchor_time(t, config) for t in later.frame.index])
    shared = later.frame.index[anchors >= first_common]
    assert len(shared) > 0
    left = later.frame.loc[shared, columns].to_numpy()
    right = full.frame.loc[shared, columns].to_numpy()
    assert left.tobytes() == right.tobytes()


@settings(max_examples=15, deadline=None, suppress_health_check=_FIXTURES)
@given(data=st.data())
def test_parity_holds_across_time_gaps(
    history: pd.DataFrame, news: pd.DataFrame, config: FeatureConfig, data: st.DataObject
) -> None:
    seed = data.draw(st.integers(min_value=0, max_value=2**32 - 1), label="seed")
    rng = np.random.default_rng(seed)
    dropped = rng.choice(len(history) - 1, size=40, replace=False)
    gappy = history.drop(index=history.index[dropped]).reset_index(drop=True)
    offline = build(gappy, news, config)
    position = int(rng.integers(online_window_bars(config), len(gappy)))
    last_open = gappy["open_time"].iloc[position]
    times = gappy["open_time"]
    # The window must reach back to the anchor; when the anchor bar itself is one of the gaps, the bar
    # before it is the earliest the window can start from (as the last N stored bars do in serving).
    start = times[times <= anchor_time(last_open, config)].iloc[-1]
    window = gappy[(times >= start) & (times <= last_open)]
    _assert_same_bits(build_online(window, news, config), _row(offline, position))
