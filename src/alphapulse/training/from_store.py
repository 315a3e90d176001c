"""Training on what the store holds: the entry point of ``alphapulse train`` and the training flow."""

from __future__ import annotations

from sqlalchemy import Engine

from alphapulse.events import MODEL_PROMOTED, emit
from alphapulse.features import build
from alphapulse.features import load_config as load_feature_config
from alphapulse.settings import Settings
from alphapulse.store.queries import load_candles, load_news
from alphapulse.training.config import Profile
from alphapulse.training.train import TrainingReport, train_all


def train_from_store(
    engine: Engine, *, exchange: str, symbol: str, timeframe: str, profile: Profile, settings: Settings
) -> TrainingReport:
    """Build the current feature matrix of one instrument, train every family, gate, and announce a promotion.

    The ``alphapulse.model.promoted`` event is what starts the export of the new champion to BentoML.
    """
    config = load_feature_config().model_copy(update={"timeframe": timeframe})
    candles = load_candles(engine, exchange, symbol, timeframe)
    if candles.empty:
        raise ValueError(f"symbol: no {exchange} {symbol} {timeframe} candles stored; ingest them first")
    matrix = build(candles, load_news(engine), config)
    report = train_all(matrix, symbol=symbol, timeframe=timeframe, profile=profile, settings=settings)
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
