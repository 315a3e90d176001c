"""Retention for real: rows on SQLite and PostgreSQL, archives on a local disk and on an S3 API.

The S3 archive is moto's S3-compatible server on 127.0.0.1, spoken to by pyarrow over HTTP exactly as
AWS would be (an endpoint override is the only difference).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pyarrow.parquet as pq
import pytest
from sqlalchemy import Engine, Table, insert, select

from alphapulse.money import to_text
from alphapulse.monitoring.retention import (
    REPORTS,
    apply_retention,
    open_archive,
    read_archived_rows,
)
from alphapulse.settings import Settings
from alphapulse.store import PREDICTIONS, QUALITY_FINDINGS
from tests.support.processes import free_port

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
DAYS = 180
#: Ages around the limit: archived when older than DAYS days, kept otherwise (to the microsecond).
OLD = [timedelta(days=DAYS, microseconds=1), timedelta(days=400), timedelta(days=900, hours=5)]
YOUNG = [timedelta(days=DAYS), timedelta(days=DAYS - 1), timedelta(0)]
#: Money at the edges of NUMERIC(38, 18): archived as text, they must come back digit for digit.
PRICES = ["0.000000000000000001", "99999999999999999999.999999999999999999", "67012.5", "1", "3.14", "2"]
BUCKET = "alphapulse-archive"


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.integration)])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    home = tmp_path / "home"
    if request.param == "local":
        return Settings(home=home, retention_days=DAYS, archive_root=str(tmp_path / "archive"))
    endpoint = request.getfixturevalue("s3_endpoint")
    return Settings(
        home=home, retention_days=DAYS, archive_root=f"s3://{BUCKET}/prod/archive", s3_endpoint_url=endpoint
    )


@pytest.fixture
def s3_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    for name, value in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=BUCKET)
    try:
        yield endpoint
    finally:
        server.stop()


def _prediction(n: int, age: timedelta) -> dict[str, Any]:
    moment = NOW - age
    return {
        "request_id": f"request-{n}",
        "role": "champion" if n % 2 else "challenger",
        "symbol": "BTC/USDT",
        "timeframe": "1h",
        "as_of": moment - timedelta(hours=1),
        "window_start": moment - timedelta(hours=400),
        "window_end": moment - timedelta(hours=1),
        "direction": "up",
        "probability_up": 0.5 + n / 100,
        "expected_return": None if n % 3 == 0 else -0.00113 * n,
        "reference_price": Decimal(PRICES[n % len(PRICES)]),
        "model_name": "alphapulse-btc-usdt-1h",
        "model_version": str(n),
        "feature_set": "927fac27fe558dff",
        "latency_ms": 0.41 * n,
        "created_at": moment,
    }


def _finding(n: int, age: timedelta) -> dict[str, Any]:
    return {
        "id": f"finding-{n}",
        "run_id": "run",
        "dataset": "candles",
        "check_name": "ohlc_consistency",
        "severity": "error",
        "quarantined": n % 2 == 0,
        "row_key": f"binance|BTC/USDT|1h|{n}",
        "detail": "high below low",
        "row_json": '{"close": "11353.86"}',
        "ingested_at": NOW - age,
    }


def _rows(engine: Engine, table: Table) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        query = select(table).order_by(*table.primary_key.columns)
        return [dict(row) for row in connection.execute(query).mappings()]


def _report(root: Path, relative: str, age: timedelta) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(f"<html>{relative}</html>".encode() + bytes(range(256)))
    stamp = (NOW - age).timestamp()
    os.utime(path, (stamp, stamp))
    return path


def test_old_rows_and_reports_are_archived_exactly_and_nothing_younger_is_touched(
    engine: Engine, settings: Settings
) -> None:
    ages = OLD + YOUNG
    with engine.begin() as connection:
        connection.execute(insert(PREDICTIONS), [_prediction(n, age) for n, age in enumerate(ages)])
        connection.execute(insert(QUALITY_FINDINGS), [_finding(n, age) for n, age in enumerate(ages)])
    before = {table.name: _rows(engine, table) for table in (PREDICTIONS, QUALITY_FINDINGS)}
    reports = settings.data_dir / REPORTS
    old_report = _report(reports, "drift/alphapulse-btc-usdt-1h/drift-20250101T0000.html", OLD[1])
    young_report = _report(reports, "drift/alphapulse-btc-usdt-1h/drift-20261201T0000.html", YOUNG[1])
    old_bytes = old_report.read_bytes()

    report = apply_retention(engine, settings, now=NOW)

    assert report.cutoff == NOW - timedelta(days=DAYS)
    by_name = {archived.what: archived for archived in report.archived}
    archive = open_archive(settings)
    for table in (PREDICTIONS, QUALITY_FINDINGS):
        time_column = "created_at" if table is PREDICTIONS else "ingested_at"
        old = [row for row in before[table.name] if row[time_column] < report.cutoff]
        young = [row for row in before[table.name] if row[time_column] >= report.cutoff]
        assert len(old) == len(OLD)
        assert len(young) == len(YOUNG)
        assert _rows(engine, table) == young  # the young rows, every column unchanged
        archived = by_name[table.name]
        assert (archived.count, archived.deleted) == (len(OLD), len(OLD))
        assert archived.location is not None
        assert archived.location.startswith(settings.archive_root)
        assert read_archived_rows(archive, archived.location, table) == old
    # Money is archived as its exact decimal text, not as a float or a rounded decimal.
    location = by_name[PREDICTIONS.name].location
    assert location is not None
    raw = pq.read_table(
        archive.path(location.removeprefix(archive.uri).lstrip("/")), filesystem=archive.filesystem
    )
    assert str(raw.schema.field("reference_price").type) == "string"
    old_predictions = [r for r in before[PREDICTIONS.name] if r["created_at"] < report.cutoff]
    assert raw.column("reference_price").to_pylist() == [
        to_text(r["reference_price"]) for r in old_predictions
    ]
    assert "99999999999999999999.999999999999999999" in raw.column("reference_price").to_pylist()
    # Report files: the old one moved byte for byte, the young one left where it was.
    assert not old_report.exists()
    assert young_report.exists()
    assert by_name[REPORTS].count == 1
    relative = old_report.relative_to(reports).as_posix()
    with archive.filesystem.open_input_stream(archive.path(REPORTS, relative)) as archived_file:
        assert archived_file.read() == old_bytes

    again = apply_retention(engine, settings, now=NOW)
    assert [(a.what, a.count, a.location) for a in again.archived] == [
        (PREDICTIONS.name, 0, None),
        (QUALITY_FINDINGS.name, 0, None),
        (REPORTS, 0, None),
    ]
    assert _rows(engine, PREDICTIONS) == [
        r for r in before[PREDICTIONS.name] if r["created_at"] >= report.cutoff
    ]


def test_an_unusable_archive_root_deletes_nothing(engine: Engine, tmp_path: Path) -> None:
    with engine.begin() as connection:
        connection.execute(insert(PREDICTIONS), [_prediction(0, OLD[1])])
    settings = Settings(home=tmp_path / "home", retention_days=DAYS, archive_root="ftp://nowhere/archive")
    with pytest.raises(ValueError, match="archive_root"):
        apply_retention(engine, settings, now=NOW)
    assert len(_rows(engine, PREDICTIONS)) == 1


def test_a_failing_archive_write_deletes_nothing(engine: Engine, tmp_path: Path) -> None:
    with engine.begin() as connection:
        connection.execute(insert(PREDICTIONS), [_prediction(0, OLD[1])])
    blocker = tmp_path / "archive"
    blocker.write_text("a file where the archive folder should be")
    settings = Settings(home=tmp_path / "home", retention_days=DAYS, archive_root=str(blocker))
    with pytest.raises(OSError, match="Cannot create directory"):
        apply_retention(engine, settings, now=NOW)
    assert len(_rows(engine, PREDICTIONS)) == 1


@pytest.mark.integration
def test_an_s3_archive_that_refuses_the_upload_deletes_nothing(
    engine: Engine, tmp_path: Path, s3_endpoint: str
) -> None:
    with engine.begin() as connection:
        connection.execute(insert(PREDICTIONS), [_prediction(n, OLD[1]) for n in range(3)])
    settings = Settings(
        home=tmp_path / "home",
        retention_days=DAYS,
        archive_root="s3://no-such-bucket/archive",
        s3_endpoint_url=s3_endpoint,
    )
    with pytest.raises(OSError, match="no-such-bucket"):
        apply_retention(engine, settings, now=NOW)
    assert len(_rows(engine, PREDICTIONS)) == 3
