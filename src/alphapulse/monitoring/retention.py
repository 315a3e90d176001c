"""Retention: what is older than ``settings.retention_days`` goes to the archive, then out of the store.

The prediction log gains a row per request, quality findings and drift reports pile up, and nothing
retired them. Each monitor run moves what is older than the cutoff to ``settings.archive_root`` (a
local directory or ``s3://bucket/prefix``, written through pyarrow's filesystems): table rows as one
Parquet file per table and run (money as its exact decimal text, times as UTC timestamps), report
files byte for byte under ``reports/``. Rows are deleted only once their archive file is complete
(closed, which for S3 means uploaded), and only the archived rows that are still older than the
cutoff; a run that dies in between leaves them in the store, to be archived again by the next run (a
duplicate in the archive, never a loss). Nothing younger than the cutoff is read or touched.
"""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import pyarrow as pa
import pyarrow.parquet as pq
from pyarrow import fs as pafs
from sqlalchemy import (
    Boolean,
    Column,
    Engine,
    Float,
    Integer,
    RowMapping,
    String,
    Table,
    delete,
    select,
    tuple_,
)

from alphapulse.money import to_text
from alphapulse.settings import Settings
from alphapulse.store import PREDICTIONS, QUALITY_FINDINGS
from alphapulse.store.types import ExactDecimal, UTCDateTime

#: The tables retention applies to, each with the time its age is measured from.
RETAINED: Final = ((PREDICTIONS, "created_at"), (QUALITY_FINDINGS, "ingested_at"))
#: Report files (drift reports) live under ``settings.data_dir / REPORTS``; their age is their mtime.
REPORTS: Final = "reports"
#: Rows read per batch (one Parquet row group each) and deleted per statement.
_BATCH: Final = 5_000


@dataclass(frozen=True)
class Archived:
    """What one retention step moved: ``what`` is a table name or ``reports``."""

    what: str
    count: int
    deleted: int
    #: The archive file (tables) or folder (reports) written; None when nothing was old enough.
    location: str | None


@dataclass(frozen=True)
class RetentionReport:
    cutoff: datetime
    archived: tuple[Archived, ...]

    def summary(self) -> dict[str, Any]:
        return {"cutoff": self.cutoff.isoformat(), "archived": [vars(a) for a in self.archived]}


@dataclass(frozen=True)
class Archive:
    """The archive root as a pyarrow filesystem, a base path inside it and the URI users know it by."""

    filesystem: pafs.FileSystem
    base: str
    uri: str

    def path(self, *parts: str) -> str:
        return "/".join([self.base, *parts])

    def location(self, *parts: str) -> str:
        return "/".join([self.uri, *parts])

    def prepare(self, *parts: str) -> None:
        """Create the folder on a local disk; object stores have no folders to create."""
        if isinstance(self.filesystem, pafs.LocalFileSystem):
            self.filesystem.create_dir(self.path(*parts), recursive=True)


def open_archive(settings: Settings) -> Archive:
    root = settings.archive_root.rstrip("/")
    if root.startswith("s3://"):
        options = {} if settings.s3_endpoint_url is None else {"endpoint_override": settings.s3_endpoint_url}
        return Archive(pafs.S3FileSystem(**options), root.removeprefix("s3://"), root)
    if "://" in root:
        raise ValueError(f"archive_root: {root!r} is neither a local directory nor an s3:// URI")
    local = str(Path(root).resolve())
    return Archive(pafs.LocalFileSystem(), local, local)


def apply_retention(engine: Engine, settings: Settings, *, now: datetime | None = None) -> RetentionReport:
    """Archive, then delete, every retained row and report file older than ``retention_days``."""
    moment = now or datetime.now(UTC)
    cutoff = moment - timedelta(days=settings.retention_days)
    archive = open_archive(settings)
    run = f"{moment:%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"
    archived = [archive_rows(engine, table, column, cutoff, archive, run) for table, column in RETAINED]
    archived.append(archive_reports(settings.data_dir / REPORTS, cutoff, archive))
    return RetentionReport(cutoff=cutoff, archived=tuple(archived))


def arrow_schema(table: Table) -> pa.Schema:
    """The Parquet schema of a store table: money as exact text, times as UTC microseconds."""
    return pa.schema([pa.field(c.name, _arrow_type(c), nullable=bool(c.nullable)) for c in table.columns])


def _arrow_type(column: Column[Any]) -> pa.DataType:
    kind = column.type
    if isinstance(kind, ExactDecimal):
        return pa.string()
    if isinstance(kind, UTCDateTime):
        return pa.timestamp("us", tz="UTC")
    if isinstance(kind, Boolean):
        return pa.bool_()
    if isinstance(kind, Integer):
        return pa.int64()
    if isinstance(kind, Float):
        return pa.float64()
    if isinstance(kind, String):
        return pa.string()
    raise TypeError(f"{column.table.name}.{column.name}: no archive type for {kind!r}")


def archive_rows(
    engine: Engine, table: Table, time_column: str, cutoff: datetime, archive: Archive, run: str
) -> Archived:
    """Write the rows older than ``cutoff`` to ``<table>/<run>.parquet``, then delete exactly those."""
    moment = table.c[time_column]
    keys = list(table.primary_key.columns)
    money = [c.name for c in table.columns if isinstance(c.type, ExactDecimal)]
    schema = arrow_schema(table)
    name = f"{run}.parquet"
    archived: list[tuple[Any, ...]] = []
    writer: pq.ParquetWriter | None = None
    query = select(table).where(moment < cutoff).order_by(*keys)
    try:
        with engine.connect() as connection:
            result = connection.execution_options(yield_per=_BATCH).execute(query).mappings()
            for batch in result.partitions():
                if writer is None:
                    archive.prepare(table.name)
                    path = archive.path(table.name, name)
                    writer = pq.ParquetWriter(path, schema, filesystem=archive.filesystem)
                writer.write_table(pa.Table.from_pylist([_encoded(r, money) for r in batch], schema=schema))
                archived.extend(tuple(row[key.name] for key in keys) for row in batch)
    finally:
        if writer is not None:
            writer.close()
    if not archived:
        return Archived(table.name, 0, 0, None)
    deleted = _delete(engine, table, keys, moment < cutoff, archived)
    return Archived(table.name, len(archived), deleted, archive.location(table.name, name))


def _encoded(row: RowMapping, money: Sequence[str]) -> dict[str, Any]:
    encoded = dict(row)
    for name in money:
        if encoded[name] is not None:
            encoded[name] = to_text(encoded[name])
    return encoded


def _delete(
    engine: Engine, table: Table, keys: list[Column[Any]], older: Any, archived: list[tuple[Any, ...]]
) -> int:
    deleted = 0
    with engine.begin() as connection:
        for start in range(0, len(archived), _BATCH):
            chunk = archived[start : start + _BATCH]
            result = connection.execute(delete(table).where(tuple_(*keys).in_(chunk), older))
            deleted += result.rowcount
    return deleted


def read_archived_rows(archive: Archive, location: str, table: Table) -> list[dict[str, Any]]:
    """An archive file's rows as the store hands them out (money as ``Decimal``, times in UTC)."""
    path = archive.path(location.removeprefix(archive.uri).lstrip("/"))
    rows: list[dict[str, Any]] = pq.read_table(path, filesystem=archive.filesystem).to_pylist()
    money = [c.name for c in table.columns if isinstance(c.type, ExactDecimal)]
    times = [c.name for c in table.columns if isinstance(c.type, UTCDateTime)]
    for row in rows:
        for name in money:
            row[name] = None if row[name] is None else Decimal(row[name])
        for name in times:
            row[name] = None if row[name] is None else row[name].astimezone(UTC)
    return rows


def archive_reports(reports: Path, cutoff: datetime, archive: Archive) -> Archived:
    """Copy each report file last written before ``cutoff`` to ``reports/<same path>``, then remove it."""
    if not reports.is_dir():
        return Archived(REPORTS, 0, 0, None)
    limit = cutoff.timestamp()
    old = sorted(p for p in reports.rglob("*") if p.is_file() and p.stat().st_mtime < limit)
    for source in old:
        relative = source.relative_to(reports)
        archive.prepare(REPORTS, *relative.parent.parts)
        with (
            source.open("rb") as reader,
            archive.filesystem.open_output_stream(archive.path(REPORTS, *relative.parts)) as writer,
        ):
            shutil.copyfileobj(reader, writer)
        source.unlink()
    return Archived(REPORTS, len(old), len(old), archive.location(REPORTS) if old else None)
