"""A store and a BentoML model store ready to serve: bundled candles and headlines of a window, the
feature set materialized, a small champion trained, promoted and exported (as ``alphapulse run`` and
``alphapulse model export`` would leave them), on whatever database ``engine`` points at."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from sqlalchemy import Engine

from alphapulse.features import FeatureMatrix, build, load_config
from alphapulse.pipeline.export import export_model
from alphapulse.pipeline.features import build_stored_feature_set
from alphapulse.pipeline.ingest import store_candles, store_news
from alphapulse.pipeline.instrument import Instrument
from alphapulse.settings import Settings
from alphapulse.sources.bundled import CANDLES_FILE, CANDLES_SOURCE, HEADLINES_FILE, bundled_path
from alphapulse.sources.csv_candles import read_candle_csv
from alphapulse.sources.news import read_headline_dataset
from alphapulse.store.queries import load_candles, load_news
from alphapulse.training import load_config as training_config
from alphapulse.training import promote, train_all

SYMBOL, TIMEFRAME = "BTC/USDT", "1h"


@dataclass(frozen=True)
class ServedChampion:
    candles: pd.DataFrame
    news: pd.DataFrame
    matrix: FeatureMatrix
    version: str


def serve_champion(settings: Settings, engine: Engine, *, first: datetime, end: datetime) -> ServedChampion:
    _form, rows = read_candle_csv(bundled_path(CANDLES_FILE), CANDLES_SOURCE)
    store_candles(engine, [r for r in rows if first <= r["open_time"] < end], run_id="test")
    store_news(engine, read_headline_dataset(bundled_path(HEADLINES_FILE)), source="bundled", run_id="test")
    config = load_config()
    build_stored_feature_set(
        engine, exchange="binance", symbol=SYMBOL, config=config, data_dir=settings.data_dir
    )
    candles = load_candles(engine, "binance", SYMBOL, TIMEFRAME)
    news = load_news(engine)
    matrix = build(candles, news, config)
    profile = training_config("fast")
    small = profile.model_copy(
        update={
            "splits": profile.splits.model_copy(update={"test_bars": 600, "min_train_bars": 1500}),
            "evaluation": profile.evaluation.model_copy(update={"bootstrap_iterations": 100}),
        }
    )
    report = train_all(matrix, symbol=SYMBOL, timeframe=TIMEFRAME, settings=settings, config=small)
    if report.champion is None:
        promote(SYMBOL, TIMEFRAME, version=report.version, settings=settings)
    export_model(settings, Instrument.of(settings, SYMBOL, timeframe=TIMEFRAME))
    return ServedChampion(candles, news, matrix, report.version)
