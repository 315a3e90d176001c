"""Candle corrections audit table; quarantined findings keyed by their content.

A differing re-import no longer replaces a stored bar: it is quarantined as a conflict finding, or, when
asked for explicitly, applied with the old values kept in ``candle_corrections``. Quarantined findings
hold data that exists nowhere else, so two different rows refused for the same bar must both be kept:
their id now also hashes the kept row. Existing quarantined findings are re-keyed to that scheme here, so
seeing the same problem again still updates one finding instead of adding a copy. Downgrading drops the
table and leaves the finding ids as they are (ids are opaque; nothing refers to them).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from alphapulse.store.types import ExactDecimal, UTCDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_VALUES = ("open", "high", "low", "close", "volume")


def upgrade() -> None:
    op.create_table(
        "candle_corrections",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("exchange", sa.String(32), nullable=False),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("timeframe", sa.String(8), nullable=False),
        sa.Column("open_time", UTCDateTime(), nullable=False),
        *(sa.Column(f"old_{name}", ExactDecimal(), nullable=False) for name in _VALUES),
        *(sa.Column(f"new_{name}", ExactDecimal(), nullable=False) for name in _VALUES),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("corrected_at", UTCDateTime(), nullable=False),
    )
    op.create_index(
        "ix_candle_corrections_bar", "candle_corrections", ["exchange", "symbol", "timeframe", "open_time"]
    )
    _rekey_quarantined_findings()


def _rekey_quarantined_findings() -> None:
    findings = sa.table(
        "quality_findings",
        sa.column("id", sa.String),
        sa.column("dataset", sa.String),
        sa.column("check_name", sa.String),
        sa.column("row_key", sa.Text),
        sa.column("row_json", sa.Text),
        sa.column("quarantined", sa.Boolean),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(
            findings.c.id, findings.c.dataset, findings.c.check_name, findings.c.row_key, findings.c.row_json
        ).where(findings.c.quarantined.is_(True))
    ).all()
    for old_id, dataset, check, row_key, row_json in rows:
        new_id = hashlib.sha256(f"{dataset}|{check}|{row_key}|{row_json}".encode()).hexdigest()
        connection.execute(sa.update(findings).where(findings.c.id == old_id).values(id=new_id))


def downgrade() -> None:
    op.drop_index("ix_candle_corrections_bar", table_name="candle_corrections")
    op.drop_table("candle_corrections")
