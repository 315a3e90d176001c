"""Initial schema: candles, news, quality findings, feature sets, predictions.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from alphapulse.store.types import ExactDecimal, UTCDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "candles",
        sa.Column("exchange", sa.String(32), primary_key=True),
        sa.Column("symbol", sa.String(32), primary_key=True),
        sa.Column("timeframe", sa.String(8), primary_key=True),
        sa.Column("open_time", UTCDateTime(), primary_key=True),
        sa.Column("open", ExactDecimal(), nullable=False),
        sa.Column("high", ExactDecimal(), nullable=False),
        sa.Column("low", ExactDecimal(), nullable=False),
        sa.Column("close", ExactDecimal(), nullable=False),
        sa.Column("volume", ExactDecimal(), nullable=False),
        sa.Column("ingested_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "news_items",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("source", sa.String(128), nullable=False),
        sa.Column("guid", sa.Text(), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("published_at", UTCDateTime(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("ingested_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_news_items_published_at", "news_items", ["published_at"])
    op.create_table(
        "quality_findings",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("dataset", sa.String(64), nullable=False),
        sa.Column("check_name", sa.String(64), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("quarantined", sa.Boolean(), nullable=False),
        sa.Column("row_key", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("row_json", sa.Text(), nullable=False),
        sa.Column("ingested_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_quality_findings_dataset_check", "quality_findings", ["dataset", "check_name"])
    op.create_table(
        "feature_sets",
        sa.Column("version", sa.String(64), primary_key=True),
        sa.Column("symbol", sa.String(32), primary_key=True),
        sa.Column("timeframe", sa.String(8), primary_key=True),
        sa.Column("config_json", sa.Text(), nullable=False),
        sa.Column("library_version", sa.String(32), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("columns", sa.Integer(), nullable=False),
        sa.Column("first_bar", UTCDateTime(), nullable=False),
        sa.Column("last_bar", UTCDateTime(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "predictions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("timeframe", sa.String(8), nullable=False),
        sa.Column("as_of", UTCDateTime(), nullable=False),
        sa.Column("window_start", UTCDateTime(), nullable=False),
        sa.Column("window_end", UTCDateTime(), nullable=False),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("probability_up", sa.Float(), nullable=False),
        sa.Column("expected_return", sa.Float(), nullable=True),
        sa.Column("reference_price", ExactDecimal(), nullable=False),
        sa.Column("model_name", sa.String(128), nullable=False),
        sa.Column("model_version", sa.String(32), nullable=False),
        sa.Column("feature_set", sa.String(64), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_predictions_symbol_as_of", "predictions", ["symbol", "timeframe", "as_of"])


def downgrade() -> None:
    op.drop_index("ix_predictions_symbol_as_of", table_name="predictions")
    op.drop_table("predictions")
    op.drop_table("feature_sets")
    op.drop_index("ix_quality_findings_dataset_check", table_name="quality_findings")
    op.drop_table("quality_findings")
    op.drop_index("ix_news_items_published_at", table_name="news_items")
    op.drop_table("news_items")
    op.drop_table("candles")
