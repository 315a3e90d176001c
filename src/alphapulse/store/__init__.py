"""The store: tables, engine, exact column types, idempotent bulk upserts, migrations."""

from alphapulse.store.engine import make_engine
from alphapulse.store.migrate import current_revision, ensure_schema, head_revision, upgrade
from alphapulse.store.tables import (
    CANDLES,
    FEATURE_SETS,
    NEWS_ITEMS,
    ONLINE_FEATURES,
    PREDICTIONS,
    QUALITY_FINDINGS,
    Candle,
    FeatureSetRecord,
    NewsItem,
    OnlineFeatureRow,
    PredictionLog,
    QualityFinding,
    metadata,
    table_of,
)
from alphapulse.store.upsert import UpsertResult, upsert

__all__ = [
    "CANDLES",
    "FEATURE_SETS",
    "NEWS_ITEMS",
    "ONLINE_FEATURES",
    "PREDICTIONS",
    "QUALITY_FINDINGS",
    "Candle",
    "FeatureSetRecord",
    "NewsItem",
    "OnlineFeatureRow",
    "PredictionLog",
    "QualityFinding",
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
