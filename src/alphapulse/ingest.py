"""Ingestion: source -> validation/quarantine -> idempotent store, with a report of what happened.

Each step stores what it has before fetching more, so an interrupted run loses nothing and the next run
resumes from the last stored candle.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import ccxt
from sqlalchemy import Engine, Table

from alphapulse.quality import Validated, candle_dataset, record_findings, validate_candles, validate_news
from alphapulse.settings import get_settings
from alphapulse.sources.bundled import CANDLES_FILE, CANDLES_SOURCE, HEADLINES_FILE, bundled_path
from alphapulse.sources.csv_candles import CsvSource, read_candle_csv
from alphapulse.sources.exchange import FetchPlan, fetch_pages, make_exchange
from alphapulse.sources.news import (
    NewsRow,
    feed_source_name,
    fetch_feed_bytes,
    parse_feed,
    read_headline_dataset,
)
from alphapulse.sources.rows import CandleRow
from alphapulse.store import CANDLES, NEWS_ITEMS, upsert
from alphapulse.store.queries import latest_candle
from alphapulse.timeframes import timeframe_delta


@dataclass(frozen=True)
class IngestReport:
    dataset: str
    received: int
    inserted: int
    updated: int
    unchanged: int
    quarantined: int
    warnings: int
    new_findings: int

    def __add__(self, other: IngestReport) -> IngestReport:
        return replace(
            self,
            received=self.received + other.received,
            inserted=self.inserted + other.inserted,
            updated=self.updated + other.updated,
            unchanged=self.unchanged + other.unchanged,
            quarantined=self.quarantined + other.quarantined,
            warnings=self.warnings + other.warnings,
            new_findings=self.new_findings + other.new_findings,
        )


def new_run_id() -> str:
    return uuid.uuid4().hex


def store_candles(
    engine: Engine, rows: Sequence[CandleRow], *, run_id: str, previous: CandleRow | None = None
) -> IngestReport:
    """Validate one instrument's candles, store the good ones, record every finding."""
    checked = validate_candles(rows, previous=previous)
    dataset = (
        candle_dataset(rows[0]["exchange"], rows[0]["symbol"], rows[0]["timeframe"]) if rows else "candles"
    )
    return _store(engine, CANDLES, dataset, len(rows), checked, run_id)


def store_news(
    engine: Engine,
    rows: Sequence[NewsRow],
    *,
    source: str,
    run_id: str,
    undated: Sequence[dict[str, object]] = (),
) -> IngestReport:
    checked = validate_news(rows, undated, source=source)
    return _store(engine, NEWS_ITEMS, f"news:{source}", len(rows) + len(undated), checked, run_id)


def _store(
    engine: Engine,
    table: Table,
    dataset: str,
    received: int,
    checked: Validated[CandleRow] | Validated[NewsRow],
    run_id: str,
) -> IngestReport:
    written = upsert(engine, table, checked.accepted)
    new_findings = record_findings(engine, checked.findings, run_id=run_id)
    return IngestReport(
        dataset=dataset,
        received=received,
        inserted=written.inserted,
        updated=written.updated,
        unchanged=written.unchanged,
        quarantined=checked.quarantined,
        warnings=len(checked.findings) - checked.quarantined,
        new_findings=new_findings,
    )


def ingest_csv(engine: Engine, path: Path, source: CsvSource, *, run_id: str | None = None) -> IngestReport:
    _form, rows = read_candle_csv(path, source)
    return store_candles(engine, rows, run_id=run_id or new_run_id())


def ingest_exchange(
    engine: Engine,
    exchange: ccxt.Exchange,
    plan: FetchPlan,
    *,
    run_id: str | None = None,
    on_page: Callable[[IngestReport], None] | None = None,
) -> IngestReport:
    """Backfill from ``plan.since`` or resume after the last stored bar, whichever is later; the
    exchange's clock decides which bars are closed (see :func:`alphapulse.sources.exchange.fetch_pages`)."""
    run = run_id or new_run_id()
    previous = latest_candle(engine, plan.exchange, plan.symbol, plan.timeframe)
    if previous is not None:
        resume = previous["open_time"] + timeframe_delta(plan.timeframe)
        plan = replace(plan, since=max(plan.since, resume))
    total = IngestReport(candle_dataset(plan.exchange, plan.symbol, plan.timeframe), 0, 0, 0, 0, 0, 0, 0)
    for page in fetch_pages(exchange, plan):
        report = store_candles(engine, page, run_id=run, previous=previous)  # type: ignore[arg-type]
        total += report
        previous = page[-1]  # type: ignore[assignment]
        if on_page:
            on_page(report)
    return total


def ingest_symbol(
    engine: Engine,
    exchange_id: str,
    symbol: str,
    timeframe: str,
    since: datetime,
    *,
    on_page: Callable[[IngestReport], None] | None = None,
) -> IngestReport:
    """Backfill or resume one instrument from a live exchange configured by the settings."""
    client = make_exchange(exchange_id, api_base=get_settings().exchange_api_base)
    plan = FetchPlan(exchange=exchange_id, symbol=symbol, timeframe=timeframe, since=since)
    return ingest_exchange(engine, client, plan, on_page=on_page)


def ingest_feed(engine: Engine, location: str, *, run_id: str | None = None) -> IngestReport:
    """Parse the whole feed before writing anything, so a malformed feed changes nothing."""
    content = fetch_feed_bytes(location)
    source = feed_source_name(location, content)
    parsed = parse_feed(content, source=source)
    return store_news(
        engine, parsed.rows, source=source, run_id=run_id or new_run_id(), undated=parsed.undated
    )


def ingest_headlines(engine: Engine, path: Path, *, run_id: str | None = None) -> IngestReport:
    rows = read_headline_dataset(path)
    return store_news(engine, rows, source=path.name.split(".")[0], run_id=run_id or new_run_id())


def ingest_bundled_candles(engine: Engine, *, run_id: str | None = None) -> IngestReport:
    """The hourly BTC/USDT candles that ship with AlphaPulse."""
    return ingest_csv(engine, bundled_path(CANDLES_FILE), CANDLES_SOURCE, run_id=run_id)


def ingest_bundled_headlines(engine: Engine, *, run_id: str | None = None) -> IngestReport:
    """The dated crypto headlines that ship with AlphaPulse."""
    return ingest_headlines(engine, bundled_path(HEADLINES_FILE), run_id=run_id)


def ingest_bundled(engine: Engine, *, run_id: str | None = None) -> list[IngestReport]:
    run = run_id or new_run_id()
    return [ingest_bundled_candles(engine, run_id=run), ingest_bundled_headlines(engine, run_id=run)]
