"""The latest feature row in the shared store: what the worker publishes, the service reads bit for bit."""

from __future__ import annotations

import json
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine, func, select

from alphapulse.features import (
    FeatureConfig,
    build,
    latest_stamp,
    publish_latest,
    read_latest,
)
from alphapulse.pipeline.features import build_feature_set
from alphapulse.store import ONLINE_FEATURES

SYMBOL = "BTC/USDT"


def test_the_published_row_reads_back_with_the_same_bits_and_the_exact_close(
    engine: Engine, candles: pd.DataFrame, news: pd.DataFrame, config: FeatureConfig
) -> None:
    matrix = build(candles, news, config)
    publish_latest(engine, matrix, SYMBOL, candles)
    latest = read_latest(engine, matrix.version, SYMBOL, config.timeframe)
    assert latest is not None
    offline = matrix.frame[list(matrix.feature_columns)].iloc[[-1]]
    assert latest.features.index.equals(offline.index)
    assert list(latest.features.columns) == list(offline.columns)
    assert latest.features.to_numpy().tobytes() == offline.to_numpy().tobytes()
    assert latest.as_of == candles["open_time"].iloc[-1].to_pydatetime()
    assert latest.close == candles["close"].iloc[-1]
    assert isinstance(latest.close, Decimal)
    assert latest_stamp(engine, matrix.version, SYMBOL, config.timeframe) == latest.stamp


def test_undefined_values_survive_as_nan(
    engine: Engine, candles: pd.DataFrame, news: pd.DataFrame, config: FeatureConfig
) -> None:
    """A short history leaves warm-up features undefined in the last row: NaN, not null or zero."""
    short = candles.iloc[:40]
    matrix = build(short, news, config)
    offline = matrix.frame[list(matrix.feature_columns)].iloc[-1].to_numpy()
    assert np.isnan(offline).any()
    publish_latest(engine, matrix, SYMBOL, short)
    latest = read_latest(engine, matrix.version, SYMBOL, config.timeframe)
    assert latest is not None
    assert latest.features.iloc[0].to_numpy().tobytes() == offline.tobytes()


def test_republishing_the_same_row_keeps_the_stamp_and_a_new_bar_replaces_it(
    engine: Engine, candles: pd.DataFrame, news: pd.DataFrame, config: FeatureConfig
) -> None:
    earlier = candles.iloc[:-1]
    publish_latest(engine, build(earlier, news, config), SYMBOL, earlier)
    matrix = build(earlier, news, config)
    first = latest_stamp(engine, matrix.version, SYMBOL, config.timeframe)
    publish_latest(engine, matrix, SYMBOL, earlier)
    assert latest_stamp(engine, matrix.version, SYMBOL, config.timeframe) == first
    publish_latest(engine, build(candles, news, config), SYMBOL, candles)
    moved = latest_stamp(engine, matrix.version, SYMBOL, config.timeframe)
    assert moved is not None
    assert first is not None
    assert moved[0] == candles["open_time"].iloc[-1].to_pydatetime() > first[0]
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(ONLINE_FEATURES)).scalar_one() == 1


def test_candles_that_do_not_end_with_the_matrix_are_refused(
    engine: Engine, candles: pd.DataFrame, news: pd.DataFrame, config: FeatureConfig
) -> None:
    with pytest.raises(ValueError, match="feature matrix"):
        publish_latest(engine, build(candles.iloc[:-1], news, config), SYMBOL, candles)


def test_the_feature_build_publishes_its_latest_row(
    engine: Engine, tmp_path, candles: pd.DataFrame, news: pd.DataFrame, config: FeatureConfig
) -> None:
    report = build_feature_set(candles, news, config, symbol=SYMBOL, engine=engine, data_dir=tmp_path)
    with engine.connect() as connection:
        row = connection.execute(select(ONLINE_FEATURES)).mappings().one()
    assert row["feature_set"] == report.version
    assert len(json.loads(row["features"])) == report.columns
