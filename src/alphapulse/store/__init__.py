"""The store: tables, engine, exact column types, idempotent bulk upserts, migrations."""

from alphapulse.store.engine import make_engine
from alphapulse.store.migrate import current_revision, ensure_schema, head_revision, upgrade
from alphapulse.store.tables import (
    CANDLE_CORRECTIONS,
    CANDLES,
    FEATURE_SETS,
    NEWS_ITEMS,
    PREDICTIONS,
    QUALITY_FINDINGS,
    RETRAIN_REQUESTS,
    Candle,
    CandleCorrection,
    FeatureSetRecord,
    NewsItem,
    PredictionLog,
    QualityFinding,
    RetrainRequest,
    metadata,
    table_of,
)
from alphapulse.store.upsert import Audit, Change, OnChange, UpsertResult, upsert

__all__ = [
    "CANDLES",
    "CANDLE_CORRECTIONS",
    "FEATURE_SETS",
    "NEWS_ITEMS",
    "PREDICTIONS",
    "QUALITY_FINDINGS",
    "RETRAIN_REQUESTS",
    "Audit",
    "Candle",
    "CandleCorrection",
    "Change",
    "FeatureSetRecord",
    "NewsItem",
    "OnChange",
    "PredictionLog",
    "QualityFinding",
    "RetrainRequest",
    "UpsertResult",
    "current_revision",
    "ensure_schema",
    "head_revision",
    "make_engine",
    "metadata",
    "table_of",
    "upgrade",
    "upsert",
]
