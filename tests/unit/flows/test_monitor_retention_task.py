"""The monitor flow's retention task called directly (``.fn``), on the configured store and archive."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from alphapulse.pipeline.store import open_store
from alphapulse.settings import get_settings
from alphapulse.store import PREDICTIONS
from flows.monitor import retention_task


def _row(created_at: datetime) -> dict[str, object]:
    return {
        "request_id": created_at.isoformat(),
        "role": "champion",
        "symbol": "BTC/USDT",
        "timeframe": "1h",
        "as_of": created_at,
        "window_start": created_at,
        "window_end": created_at,
        "direction": "up",
        "probability_up": 0.6,
        "reference_price": Decimal("67012.55"),
        "model_name": "m",
        "model_version": "1",
        "feature_set": "f",
        "latency_ms": 1.0,
        "created_at": created_at,
    }


def test_retention_task_archives_with_the_configured_age_and_root(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ALPHAPULSE_RETENTION_DAYS", "30")
    monkeypatch.setenv("ALPHAPULSE_ARCHIVE_ROOT", str(tmp_path / "archive"))
    get_settings.cache_clear()
    now = datetime.now(UTC)
    store = open_store(get_settings())
    with store.begin() as connection:
        connection.execute(
            insert(PREDICTIONS), [_row(now - timedelta(days=31)), _row(now - timedelta(days=29))]
        )
    report = retention_task.fn()
    predictions = next(a for a in report.archived if a.what == "predictions")
    assert (predictions.count, predictions.deleted) == (1, 1)
    assert predictions.location is not None
    assert predictions.location.startswith(str(tmp_path / "archive" / "predictions"))
    with store.connect() as connection:
        assert connection.execute(select(func.count()).select_from(PREDICTIONS)).scalar_one() == 1
