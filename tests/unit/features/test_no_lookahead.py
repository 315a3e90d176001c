"""Features at bar t depend only on bars up to t and headlines published up to t's close."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alphapulse.features import FeatureConfig, FeatureMatrix, build, build_online

# Seed tolerance is 1e-6 of a recursive average's start; scale-free features are O(1) or smaller.
ONLINE_TOLERANCE = 1e-5


def _features(matrix: FeatureMatrix) -> pd.DataFrame:
    return matrix.frame[list(matrix.feature_columns)]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_prefix_features_equal_full_history_features(
    candles: pd.DataFrame, news: pd.DataFrame, config: FeatureConfig, data: st.DataObject
) -> None:
    full = _features(build(candles, news, config))
    cut = data.draw(st.integers(min_value=1, max_value=len(candles)), label="cut")
    # All news is passed, including headlines after the cut: the join alone must keep them out.
    prefix = _features(build(candles.iloc[:cut], news, config))
    pd.testing.assert_frame_equal(prefix, full.iloc[:cut], check_exact=True)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_online_window_reproduces_the_full_history_row(
    candles: pd.DataFrame, news: pd.DataFrame, config: FeatureConfig, data: st.DataObject
) -> None:
    full = build(candles, news, config)
    needed = full.warmup_bars + 1
    end = data.draw(st.integers(min_value=needed, max_value=len(candles)), label="end")
    window = candles.iloc[end - needed : end]
    row = build_online(window, news, config)
    assert list(row.index) == [candles["open_time"].iloc[end - 1]]
    expected = _features(full).iloc[[end - 1]]
    np.testing.assert_allclose(row.to_numpy(), expected.to_numpy(), rtol=0, atol=ONLINE_TOLERANCE)


def test_online_refuses_a_window_shorter_than_the_warmup(
    candles: pd.DataFrame, news: pd.DataFrame, config: FeatureConfig
) -> None:
    full = build(candles.iloc[:10], news, config)
    window = candles.iloc[: full.warmup_bars]
    with pytest.raises(ValueError, match=f"needs {full.warmup_bars + 1}"):
        build_online(window, news, config)
