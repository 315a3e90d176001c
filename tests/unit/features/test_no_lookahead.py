"""Features at bar t depend only on bars up to t and headlines published up to t's close."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alphapulse.features import FeatureConfig, FeatureMatrix, build, build_online, warmup_bars


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


def test_online_refuses_a_window_that_does_not_reach_the_anchor(
    candles: pd.DataFrame, news: pd.DataFrame, config: FeatureConfig
) -> None:
    window = candles.iloc[-(warmup_bars(config) + 1) :]
    with pytest.raises(ValueError, match="needs candles from"):
        build_online(window, news, config)
