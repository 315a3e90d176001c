from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from alphapulse.features import FeatureConfig, LabelConfig, build, trainable


@pytest.mark.parametrize("horizon", [1, 4])
def test_forward_return_direction_and_end_time(
    candles: pd.DataFrame, news: pd.DataFrame, config: FeatureConfig, horizon: int
) -> None:
    labelled = config.model_copy(update={"labels": LabelConfig(horizon_bars=horizon, threshold=0.001)})
    frame = build(candles.iloc[:300], news, labelled).frame
    close = np.array([float(v) for v in candles["close"].iloc[:300]])
    expected = np.log(close[horizon:] / close[:-horizon])
    np.testing.assert_allclose(frame["label_return"].to_numpy()[:-horizon], expected, rtol=1e-12)
    np.testing.assert_array_equal(frame["label_up"].to_numpy()[:-horizon], (expected > 0.001).astype(float))
    ends = candles["open_time"].iloc[horizon:300] + timedelta(hours=1)
    assert list(frame["label_end"].iloc[:-horizon]) == list(ends)
    assert frame["label_end"].dtype == "datetime64[ns, UTC]"
    tail = frame.iloc[-horizon:]
    assert tail["label_return"].isna().all()
    assert tail["label_up"].isna().all()
    assert tail["label_end"].isna().all()


def test_trainable_drops_warmup_and_unknown_labels(
    candles: pd.DataFrame, news: pd.DataFrame, config: FeatureConfig
) -> None:
    matrix = build(candles, news, config)
    rows = trainable(matrix)
    horizon = config.labels.horizon_bars
    assert len(rows) == len(candles) - matrix.warmup_bars - horizon
    assert rows.index[0] == matrix.frame.index[matrix.warmup_bars]
    assert rows["label_return"].notna().all()
    assert not rows[list(matrix.feature_columns)].isna().any().any()
    assert (rows["label_end"] > rows.index).all()
