"""What ``alphapulse features build`` does and prints: build, materialize, summarize."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine

from alphapulse.features.config import FeatureConfig
from alphapulse.features.latest import publish_latest
from alphapulse.features.materialize import materialize
from alphapulse.features.matrix import FeatureMatrix, build
from alphapulse.store.queries import load_candles, load_news


@dataclass(frozen=True)
class FeatureSetReport:
    symbol: str
    version: str
    rows: int
    columns: int
    warmup_bars: int
    #: Rows whose features are not all defined: the warm-up in practice (should be <= ``warmup_bars``).
    nan_rows: int
    trainable_rows: int
    path: Path


def summarize(matrix: FeatureMatrix, symbol: str, path: Path) -> FeatureSetReport:
    features = matrix.frame[list(matrix.feature_columns)]
    known = matrix.frame["label_return"].notna()
    return FeatureSetReport(
        symbol=symbol,
        version=matrix.version,
        rows=len(features),
        columns=len(matrix.feature_columns),
        warmup_bars=matrix.warmup_bars,
        nan_rows=int(features.isna().any(axis=1).sum()),
        trainable_rows=int(known.iloc[matrix.warmup_bars :].sum()),
        path=path,
    )


def build_stored_feature_set(
    engine: Engine, *, exchange: str, symbol: str, config: FeatureConfig, data_dir: Path
) -> FeatureSetReport:
    """The feature set of one stored instrument (all its candles, all stored news)."""
    candles = load_candles(engine, exchange, symbol, config.timeframe)
    if candles.empty:
        raise ValueError(
            f"symbol: no {exchange} {symbol} {config.timeframe} candles stored; ingest them first"
        )
    return build_feature_set(
        candles, load_news(engine), config, symbol=symbol, engine=engine, data_dir=data_dir
    )


def build_feature_set(
    candles: pd.DataFrame,
    news: pd.DataFrame,
    config: FeatureConfig,
    *,
    symbol: str,
    engine: Engine,
    data_dir: Path,
) -> FeatureSetReport:
    """Build the matrix for one symbol, materialize it under ``data_dir`` and the store, publish its
    latest row for the service (``features.latest``), summarize it."""
    matrix = build(candles, news, config)
    record = materialize(matrix, engine, symbol, config.timeframe, data_dir)
    publish_latest(engine, matrix, symbol, candles)
    return summarize(matrix, symbol, Path(record.path))
