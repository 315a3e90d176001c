"""Feature sets: when each was last built, so the newest build's config is the one training uses.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from alphapulse.store.types import UTCDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("feature_sets") as batch:
        batch.add_column(sa.Column("built_at", UTCDateTime(), nullable=True))
    op.execute("UPDATE feature_sets SET built_at = created_at")
    with op.batch_alter_table("feature_sets") as batch:
        batch.alter_column("built_at", existing_type=UTCDateTime(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("feature_sets") as batch:
        batch.drop_column("built_at")
