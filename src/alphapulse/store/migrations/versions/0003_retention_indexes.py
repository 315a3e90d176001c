"""Indexes on the timestamps retention selects by: the prediction log and quality findings.

Retention archives and deletes rows older than a cutoff every monitor run; without these it scans
the whole prediction log (a row per request) each time.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_predictions_created_at", "predictions", ["created_at"])
    op.create_index("ix_quality_findings_ingested_at", "quality_findings", ["ingested_at"])


def downgrade() -> None:
    op.drop_index("ix_quality_findings_ingested_at", table_name="quality_findings")
    op.drop_index("ix_predictions_created_at", table_name="predictions")
