"""The application's tables. Natural keys are primary keys, so upserts are idempotent by construction."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import Column, Index, Integer, String, Table, Text, text
from sqlmodel import Field, SQLModel

from alphapulse.store.types import ExactDecimal, UTCDateTime


def utc_now() -> datetime:
    return datetime.now(UTC)


def _money(*, nullable: bool = False) -> Decimal:
    return Field(sa_column=Column(ExactDecimal(), nullable=nullable))  # type: ignore[no-any-return]


class Candle(SQLModel, table=True):
    """One closed OHLCV bar of one instrument on one exchange and timeframe."""

    __tablename__ = "candles"

    exchange: str = Field(sa_column=Column(String(32), primary_key=True))
    symbol: str = Field(sa_column=Column(String(32), primary_key=True))
    timeframe: str = Field(sa_column=Column(String(8), primary_key=True))
    open_time: datetime = Field(sa_column=Column(UTCDateTime(), primary_key=True))
    open: Decimal = _money()
    high: Decimal = _money()
    low: Decimal = _money()
    close: Decimal = _money()
    volume: Decimal = _money()
    ingested_at: datetime = Field(default_factory=utc_now, sa_column=Column(UTCDateTime(), nullable=False))


class CandleCorrection(SQLModel, table=True):
    """A stored bar that an explicit correction replaced: its old and new values, so nothing is lost.

    Written in the same transaction as the replacement; a re-import without ``correct`` never changes a
    stored bar (the difference is quarantined as a conflict finding instead).
    """

    __tablename__ = "candle_corrections"
    __table_args__ = (Index("ix_candle_corrections_bar", "exchange", "symbol", "timeframe", "open_time"),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    exchange: str = Field(sa_column=Column(String(32), nullable=False))
    symbol: str = Field(sa_column=Column(String(32), nullable=False))
    timeframe: str = Field(sa_column=Column(String(8), nullable=False))
    open_time: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    old_open: Decimal = _money()
    old_high: Decimal = _money()
    old_low: Decimal = _money()
    old_close: Decimal = _money()
    old_volume: Decimal = _money()
    new_open: Decimal = _money()
    new_high: Decimal = _money()
    new_low: Decimal = _money()
    new_close: Decimal = _money()
    new_volume: Decimal = _money()
    run_id: str = Field(sa_column=Column(String(64), nullable=False))
    corrected_at: datetime = Field(default_factory=utc_now, sa_column=Column(UTCDateTime(), nullable=False))


class NewsItem(SQLModel, table=True):
    """A headline; ``id`` hashes its guid, else its canonical URL, so re-ingesting is a no-op."""

    __tablename__ = "news_items"
    __table_args__ = (Index("ix_news_items_published_at", "published_at"),)

    id: str = Field(sa_column=Column(String(64), primary_key=True))
    source: str = Field(sa_column=Column(String(128), nullable=False))
    guid: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    url: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    published_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    title: str = Field(sa_column=Column(Text, nullable=False))
    summary: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    ingested_at: datetime = Field(default_factory=utc_now, sa_column=Column(UTCDateTime(), nullable=False))


class QualityFinding(SQLModel, table=True):
    """One data-quality finding, with the offending row kept verbatim so nothing is lost.

    ``id`` hashes dataset, check and row key, so seeing the same problem again updates the finding
    (and its ``run_id``) instead of piling up copies.
    """

    __tablename__ = "quality_findings"
    __table_args__ = (
        Index("ix_quality_findings_dataset_check", "dataset", "check_name"),
        Index("ix_quality_findings_ingested_at", "ingested_at"),
    )

    id: str = Field(sa_column=Column(String(64), primary_key=True))
    run_id: str = Field(sa_column=Column(String(64), nullable=False))
    dataset: str = Field(sa_column=Column(String(64), nullable=False))
    check_name: str = Field(sa_column=Column(String(64), nullable=False))
    severity: str = Field(sa_column=Column(String(16), nullable=False))
    quarantined: bool = Field(default=False)
    row_key: str = Field(sa_column=Column(Text, nullable=False))
    detail: str = Field(sa_column=Column(Text, nullable=False))
    row_json: str = Field(sa_column=Column(Text, nullable=False))
    ingested_at: datetime = Field(default_factory=utc_now, sa_column=Column(UTCDateTime(), nullable=False))


class FeatureSetRecord(SQLModel, table=True):
    """A materialized, versioned feature set; the version hashes every config that shaped it."""

    __tablename__ = "feature_sets"

    version: str = Field(sa_column=Column(String(64), primary_key=True))
    symbol: str = Field(sa_column=Column(String(32), primary_key=True))
    timeframe: str = Field(sa_column=Column(String(8), primary_key=True))
    config_json: str = Field(sa_column=Column(Text, nullable=False))
    library_version: str = Field(sa_column=Column(String(32), nullable=False))
    rows: int
    columns: int
    first_bar: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    last_bar: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    path: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utc_now, sa_column=Column(UTCDateTime(), nullable=False))
    #: The last build of this set (rebuilds too): the newest one is the config training uses.
    built_at: datetime = Field(default_factory=utc_now, sa_column=Column(UTCDateTime(), nullable=False))


class OnlineFeatureRow(SQLModel, table=True):
    """The latest bar's features of one instrument and feature set, published by the feature build.

    The service answers ``/signal`` from this row, so it needs nothing but the shared database (no
    Parquet file of the worker's). ``features`` is a JSON object of float64 values written with
    ``repr`` (shortest round-trip, NaN as ``NaN``), so the service reads back the very bits the offline
    matrix holds; ``close`` is the bar's exact close. ``ingested_at`` changes only when the row does.
    """

    __tablename__ = "online_features"

    feature_set: str = Field(sa_column=Column(String(64), primary_key=True))
    symbol: str = Field(sa_column=Column(String(32), primary_key=True))
    timeframe: str = Field(sa_column=Column(String(8), primary_key=True))
    bar_time: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    close: Decimal = _money()
    features: str = Field(sa_column=Column(Text, nullable=False))
    ingested_at: datetime = Field(default_factory=utc_now, sa_column=Column(UTCDateTime(), nullable=False))


class PredictionLog(SQLModel, table=True):
    """Every answer the service gave, with enough context to score it once the outcome is known.

    ``as_of`` is the open time of the latest closed bar whose features produced the answer; the outcome
    is the log return from that bar's close to the close ``horizon`` bars later.
    """

    __tablename__ = "predictions"
    __table_args__ = (
        Index("ix_predictions_symbol_as_of", "symbol", "timeframe", "as_of"),
        Index("ix_predictions_created_at", "created_at"),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    request_id: str = Field(sa_column=Column(String(64), nullable=False))
    #: Id of the API key that asked (``api_keys.key_id``; never the secret); null for older rows.
    client: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))
    role: str = Field(sa_column=Column(String(16), nullable=False))
    symbol: str = Field(sa_column=Column(String(32), nullable=False))
    timeframe: str = Field(sa_column=Column(String(8), nullable=False))
    as_of: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    window_start: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    window_end: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    direction: str = Field(sa_column=Column(String(8), nullable=False))
    probability_up: float
    expected_return: float | None = None
    reference_price: Decimal = _money()
    model_name: str = Field(sa_column=Column(String(128), nullable=False))
    model_version: str = Field(sa_column=Column(String(32), nullable=False))
    feature_set: str = Field(sa_column=Column(String(64), nullable=False))
    latency_ms: float
    created_at: datetime = Field(default_factory=utc_now, sa_column=Column(UTCDateTime(), nullable=False))


class RetrainRequest(SQLModel, table=True):
    """A retraining the monitor asked for (the events it sent, and why), so that it asks at most once
    per cooldown however often the problem is seen."""

    __tablename__ = "retrain_requests"
    __table_args__ = (Index("ix_retrain_requests_model_requested", "model_name", "requested_at"),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    model_name: str = Field(sa_column=Column(String(128), nullable=False))
    requested_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    events: str = Field(sa_column=Column(Text, nullable=False))
    reasons: str = Field(sa_column=Column(Text, nullable=False))


class ApiKey(SQLModel, table=True):
    """A client's key to the service's public API: who it is, what it may call, how often.

    Only the sha256 of the token is kept (alphapulse.access.keys says why that suffices); the token itself
    exists in clear once, when issued. A rotation revokes the old row and names its successor, so a name
    keeps its history while at most one of its keys is active.
    """

    __tablename__ = "api_keys"
    __table_args__ = (
        Index("ix_api_keys_key_id", "key_id", unique=True),
        Index("ix_api_keys_name", "name"),
        # At most one active key per name, even when two commands create one at the same moment.
        Index(
            "ix_api_keys_active_name",
            "name",
            unique=True,
            sqlite_where=text("revoked_at IS NULL"),
            postgresql_where=text("revoked_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    key_id: str = Field(sa_column=Column(String(16), nullable=False))
    name: str = Field(sa_column=Column(String(64), nullable=False))
    #: Comma-joined, sorted scope names.
    scopes: str = Field(sa_column=Column(String(64), nullable=False))
    #: JSON object scope -> ``limits`` notation overriding the settings' defaults; null keeps them all.
    limits: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    secret_hash: str = Field(sa_column=Column(String(64), nullable=False))
    created_at: datetime = Field(default_factory=utc_now, sa_column=Column(UTCDateTime(), nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    replaced_by: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))


metadata = SQLModel.metadata


def table_of(model: type[SQLModel]) -> Table:
    """The Core table behind a model (SQLModel leaves ``__table__`` untyped)."""
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, Table)
    return table


CANDLES = table_of(Candle)
CANDLE_CORRECTIONS = table_of(CandleCorrection)
NEWS_ITEMS = table_of(NewsItem)
QUALITY_FINDINGS = table_of(QualityFinding)
FEATURE_SETS = table_of(FeatureSetRecord)
PREDICTIONS = table_of(PredictionLog)
RETRAIN_REQUESTS = table_of(RetrainRequest)
ONLINE_FEATURES = table_of(OnlineFeatureRow)
API_KEYS = table_of(ApiKey)
