"""The features use case: build one instrument's feature set from the store, materialize it (Parquet and
its record, config included), publish its latest row for the service, and summarize it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine

from alphapulse.features import (
    FeatureConfig,
    FeatureMatrix,
    build,
    current_config,
    feature_set_version,
    load_config,
    materialize,
    publish_latest,
    trainable_mask,
)
from alphapulse.pipeline.instrument import Instrument
from alphapulse.pipeline.store import open_store
from alphapulse.settings import Settings
from alphapulse.store.queries import data_fingerprint, load_candles, load_news


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
    return FeatureSetReport(
        symbol=symbol,
        version=matrix.version,
        rows=len(features),
        columns=len(matrix.feature_columns),
        warmup_bars=matrix.warmup_bars,
        nan_rows=int(features.isna().any(axis=1).sum()),
        trainable_rows=int(trainable_mask(matrix.frame, matrix.warmup_bars).sum()),
        path=path,
    )


def build_features(
    settings: Settings, instrument: Instrument, *, config_path: Path | None = None
) -> FeatureSetReport:
    """The feature set of one stored instrument with the config in ``config_path``, which becomes the
    instrument's config: without one, its current config (``features.current_config``: the last one
    chosen, else the shipped one), so a scheduled build never undoes a choice. Training, monitoring and
    serving read the config this records with the set."""
    engine = open_store(settings)
    symbol, timeframe = instrument.symbol, instrument.timeframe
    config = (
        load_config(config_path, timeframe=timeframe)
        if config_path is not None
        else current_config(engine, symbol, timeframe)
    )
    return build_stored_feature_set(
        engine, exchange=instrument.exchange, symbol=symbol, config=config, data_dir=settings.data_dir
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


def fingerprint(settings: Settings, instrument: Instrument) -> str:
    """A mark that changes whenever the instrument's candles, the news or its current feature config
    change: the flows' cache key for everything derived from them."""
    engine = open_store(settings)
    data = data_fingerprint(engine, instrument.exchange, instrument.symbol, instrument.timeframe)
    config = current_config(engine, instrument.symbol, instrument.timeframe)
    return f"{data}|{feature_set_version(config)}"
