from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from alphapulse.features import FeatureConfig, build, load_config
from alphapulse.features.technical import SEED_TOLERANCE, compute_indicators, recursive_memory


def test_features_are_scale_free(candles: pd.DataFrame, news: pd.DataFrame, config: FeatureConfig) -> None:
    """The same market at 1000x the price and 50x the volume yields the same features."""
    scaled = candles.copy()
    for name in ("open", "high", "low", "close"):
        scaled[name] = [v * 1000 for v in candles[name]]
    scaled["volume"] = [v * 50 for v in candles["volume"]]
    base = build(candles, news, config)
    other = build(scaled, news, config)
    columns = list(base.feature_columns)
    rows = slice(base.warmup_bars, None)
    np.testing.assert_allclose(
        other.frame[columns].iloc[rows].to_numpy(), base.frame[columns].iloc[rows].to_numpy(), atol=1e-7
    )


def test_the_default_set_covers_every_family_and_has_no_nan_after_warmup(
    candles: pd.DataFrame, news: pd.DataFrame, config: FeatureConfig
) -> None:
    assert {type(i).family for i in config.indicators} == {"trend", "momentum", "volatility", "volume"}
    matrix = build(candles, news, config)
    features = matrix.frame[list(matrix.feature_columns)]
    assert features.dtypes.eq("float64").all()
    assert not features.iloc[matrix.warmup_bars :].isna().any().any()
    assert features.iloc[: matrix.warmup_bars].isna().any(axis=1).any()
    assert matrix.frame.index.name == "open_time"
    assert str(matrix.frame.index.tz) == "UTC"


def test_recursive_memory_forgets_the_seed_to_tolerance() -> None:
    alpha = 1 / 14
    bars = recursive_memory(alpha)
    assert (1 - alpha) ** bars <= SEED_TOLERANCE < (1 - alpha) ** (bars - 1)


def test_a_column_produced_twice_is_refused(candles: pd.DataFrame, news: pd.DataFrame) -> None:
    config = FeatureConfig.model_validate(
        {"indicators": [{"kind": "rsi", "length": 14}, {"kind": "rsi", "length": 14}]}
    )
    with pytest.raises(ValueError, match="rsi_14"):
        build(candles.iloc[:100], news, config)


def test_config_rejects_unknown_indicators_and_parameters() -> None:
    with pytest.raises(ValidationError):
        FeatureConfig.model_validate({"indicators": [{"kind": "vortex"}]})
    with pytest.raises(ValidationError):
        FeatureConfig.model_validate({"indicators": [{"kind": "rsi", "lenght": 14}]})


def test_naive_timestamps_are_refused(candles: pd.DataFrame, news: pd.DataFrame) -> None:
    naive = candles.assign(open_time=candles["open_time"].dt.tz_localize(None))
    with pytest.raises(ValueError, match="UTC"):
        build(naive, news, load_config())


def test_money_inputs_are_converted_not_trusted_as_floats(
    candles: pd.DataFrame, config: FeatureConfig
) -> None:
    assert isinstance(candles["close"].iloc[0], Decimal)
    matrix = build(candles.iloc[:50], _no_news(), config)
    assert matrix.frame["close"].dtype == "float64"
    assert matrix.frame["close"].iloc[0] == float(candles["close"].iloc[0])


def _no_news() -> pd.DataFrame:
    return pd.DataFrame(
        {"published_at": pd.DatetimeIndex([], tz="UTC"), "title": [], "summary": [], "source": []}
    )


def test_declared_warmup_covers_pandas_ta_minimum_lengths(candles: pd.DataFrame) -> None:
    """Around each indicator's warm-up boundary, a series cut at that bar gives the full series' value.

    pandas-ta returns nothing at all for series shorter than its own minimum (e.g. k + d + smooth_k rows
    for the stochastic), so an under-declared warm-up makes a bar's value depend on later bars.
    """
    bars = pd.DataFrame(
        {name: candles[name].map(float).to_numpy() for name in ("open", "high", "low", "close", "volume")},
        index=pd.DatetimeIndex(candles["open_time"]),
    )
    for indicator in load_config().indicators:
        full = compute_indicators(bars, (indicator,))
        for length in range(max(1, indicator.warmup - 3), indicator.warmup + 4):
            cut = compute_indicators(bars.iloc[:length], (indicator,)).iloc[-1]
            pd.testing.assert_series_equal(
                cut, full.iloc[length - 1], check_exact=True, obj=f"{indicator.kind}@{length}"
            )
