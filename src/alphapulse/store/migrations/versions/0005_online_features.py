"""Online features: the latest bar's feature row per instrument and feature set, for ``/signal``.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from alphapulse.store.types import ExactDecimal, UTCDateTime

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "online_features",
        sa.Column("feature_set", sa.String(64), primary_key=True),
        sa.Column("symbol", sa.String(32), primary_key=True),
        sa.Column("timeframe", sa.String(8), primary_key=True),
        sa.Column("bar_time", UTCDateTime(), nullable=False),
        sa.Column("close", ExactDecimal(), nullable=False),
        sa.Column("features", sa.Text(), nullable=False),
        sa.Column("ingested_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("online_features")
