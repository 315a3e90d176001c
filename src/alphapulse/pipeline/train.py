"""The training use case: one instrument's matrix from the store, every family trained, gated, and a
promotion announced."""

from __future__ import annotations

from alphapulse.events import MODEL_PROMOTED, emit
from alphapulse.features import build, current_config
from alphapulse.pipeline.instrument import Instrument
from alphapulse.pipeline.store import open_store
from alphapulse.settings import Settings
from alphapulse.store.queries import load_candles, load_news
from alphapulse.training.config import Profile
from alphapulse.training.train import TrainingReport, train_all


def train(settings: Settings, instrument: Instrument, *, profile: Profile = "fast") -> TrainingReport:
    """Build the instrument's matrix with the config of its materialized feature set, train every family,
    gate, and announce a promotion; the version registered records that config for monitoring and serving.

    The ``alphapulse.model.promoted`` event is what starts the export of the new champion to BentoML.
    """
    engine = open_store(settings)
    exchange, symbol, timeframe = instrument.exchange, instrument.symbol, instrument.timeframe
    candles = load_candles(engine, exchange, symbol, timeframe)
    if candles.empty:
        raise ValueError(f"symbol: no {exchange} {symbol} {timeframe} candles stored; ingest them first")
    matrix = build(candles, load_news(engine), current_config(engine, symbol, timeframe))
    report = train_all(
        matrix, symbol=symbol, timeframe=timeframe, exchange=exchange, profile=profile, settings=settings
    )
    if report.decision.promote:
        emit(
            MODEL_PROMOTED,
            model_name=report.registered_model,
            payload={
                "version": report.version,
                "challenger": report.challenger,
                "feature_version": report.feature_version,
            },
        )
    return report
