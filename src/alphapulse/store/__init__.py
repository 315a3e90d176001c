"""The store: tables, engine, exact column types, idempotent bulk upserts, migrations."""

from alphapulse.store.engine import make_engine
from alphapulse.store.migrate import current_revision, ensure_schema, head_revision, upgrade
from alphapulse.store.tables import (
    Candle,
    FeatureSetRecord,
    NewsItem,
    PredictionLog,
    QualityFinding,
    metadata,
)
from alphapulse.store.upsert import UpsertResult, upsert

__all__ = [
    "Candle",
    "FeatureSetRecord",
    "NewsItem",
    "PredictionLog",
    "QualityFinding",
    "UpsertResult",
    "current_revision",
    "ensure_schema",
    "head_revision",
    "make_engine",
    "metadata",
    "upgrade",
    "upsert",
]
