"""Alembic migrations create exactly the schema the tables declare, on both backends."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, select, text

from alphapulse.quality import Finding, record_findings, stored_findings
from alphapulse.store import FEATURE_SETS, current_revision, head_revision, make_engine, metadata, upgrade
from tests.unit.store.test_upsert import feature_set_row


def test_upgrade_reaches_head_and_matches_the_models(engine: Engine) -> None:
    assert current_revision(engine) == head_revision()
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_upgrade_is_idempotent(engine: Engine) -> None:
    assert upgrade(engine) == head_revision()


def test_0002_rekeys_quarantined_findings_by_their_content(backend_url: str) -> None:
    engine = make_engine(backend_url)
    upgrade(engine, "0001")
    finding = Finding(
        "candles:x:BTC/USDT:1h", "ohlc_inconsistent", "error", "2024-01-01T00:00:00+00:00", "d", {"high": "1"}
    )
    old_id = hashlib.sha256(f"{finding.dataset}|{finding.check}|{finding.row_key}".encode()).hexdigest()
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO quality_findings (id, run_id, dataset, check_name, severity, quarantined, row_key,"
                " detail, row_json, ingested_at) VALUES (:id, 'r0', :dataset, :check, 'error', :q, :key, 'd',"
                " :row, :at)"
            ),
            {
                "id": old_id,
                "dataset": finding.dataset,
                "check": finding.check,
                "q": True,
                "key": finding.row_key,
                "row": json.dumps(finding.row, sort_keys=True),
                "at": "2024-01-01 00:00:00",
            },
        )
    upgrade(engine)
    assert record_findings(engine, [finding], run_id="r1") == 0  # the same problem, still one finding
    (stored,) = stored_findings(engine)
    assert stored.id != old_id
    assert stored.run_id == "r1"
    engine.dispose()


def test_0006_dates_every_existing_feature_set_built_when_it_was_created(backend_url: str) -> None:
    engine = make_engine(backend_url)
    upgrade(engine, "0005")
    created = datetime(2025, 3, 1, 12, tzinfo=UTC)
    with engine.begin() as connection:
        connection.execute(FEATURE_SETS.insert().values({**feature_set_row(created), "created_at": created}))
    upgrade(engine)
    with engine.connect() as connection:
        assert connection.execute(select(FEATURE_SETS.c.built_at)).scalar_one() == created
    engine.dispose()
