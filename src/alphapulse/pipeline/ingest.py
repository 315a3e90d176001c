"""The ingest use case: source -> validation/quarantine -> idempotent store, with a report of what happened.

Each step stores what it has before fetching more, so an interrupted run loses nothing and the next run
resumes from the last stored candle. A stored bar is never changed silently: a differing bar from any
source is quarantined as a conflict (both versions kept in the finding) unless the caller asks for
``correct=True``, which applies it and keeps the old values in ``candle_corrections``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import ccxt
from sqlalchemy import Engine

from alphapulse.events import announce_stored_candles
from alphapulse.pipeline.instrument import Instrument
from alphapulse.pipeline.store import open_store
from alphapulse.quality import (
    candle_dataset,
    conflict_finding,
    record_findings,
    resolve_findings,
    validate_candles,
    validate_news,
)
from alphapulse.settings import Settings
from alphapulse.sources.bundled import (
    CANDLES_FILE,
    CANDLES_SOURCE,
    HEADLINES_FILE,
    bundled_path,
)
from alphapulse.sources.csv_candles import CsvSource, read_candles
from alphapulse.sources.exchange import FetchPlan, fetch_pages, make_exchange
from alphapulse.sources.news import (
    NewsRow,
    feed_source_name,
    fetch_feed_bytes,
    parse_feed,
    read_headline_dataset,
)
from alphapulse.sources.rows import CandleRow, UnreadableRow
from alphapulse.store import CANDLE_CORRECTIONS, CANDLES, NEWS_ITEMS, Audit, OnChange, upsert
from alphapulse.store.queries import latest_candle
from alphapulse.timeframes import parse_since, timeframe_delta


@dataclass(frozen=True)
class IngestReport:
    """What one ingestion did. ``quarantined`` counts every withheld row; of those, ``conflicts`` are
    bars that differ from the stored ones (kept as findings, stored bars untouched). ``corrected`` are
    stored bars replaced on request (``correct=True``; included in ``updated``, old values audited)."""

    dataset: str
    received: int
    inserted: int
    updated: int
    unchanged: int
    quarantined: int
    warnings: int
    new_findings: int
    conflicts: int = 0
    corrected: int = 0

    @property
    def changed(self) -> int:
        """Bars the store holds anew or differently (what derived data must be rebuilt for)."""
        return self.inserted + self.updated

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
            conflicts=self.conflicts + other.conflicts,
            corrected=self.corrected + other.corrected,
        )


def new_run_id() -> str:
    return uuid.uuid4().hex


def store_candles(
    engine: Engine,
    rows: Sequence[CandleRow],
    *,
    run_id: str,
    previous: CandleRow | None = None,
    unreadable: Sequence[UnreadableRow] = (),
    dataset: str | None = None,
    correct: bool = False,
) -> IngestReport:
    """Validate one instrument's candles, store the good ones, record every finding.

    A good bar whose time is already stored with other values is not written: it becomes a
    ``stored_conflict`` finding holding both versions. With ``correct`` it replaces the stored bar, and
    the old and new values go to ``candle_corrections`` in the same transaction. ``unreadable`` rows (a
    source could not parse them) are quarantined as they are; ``dataset`` names the instrument when
    there are no readable rows to name it.
    """
    if rows:
        dataset = candle_dataset(rows[0]["exchange"], rows[0]["symbol"], rows[0]["timeframe"])
    dataset = dataset or "candles"
    checked = validate_candles(rows, previous=previous, unreadable=unreadable, dataset=dataset)
    if correct:
        audit = Audit(CANDLE_CORRECTIONS, {"run_id": run_id, "corrected_at": datetime.now(UTC)})
        written = upsert(engine, CANDLES, checked.accepted, audit=audit)
        # The conflicts an earlier import quarantined for exactly these values are settled now.
        resolve_findings(engine, [conflict_finding(dataset, change) for change in written.changes])
        conflicts = []
    else:
        written = upsert(engine, CANDLES, checked.accepted, on_change=OnChange.KEEP)
        conflicts = [conflict_finding(dataset, change) for change in written.changes]
    findings = [*checked.findings, *conflicts]
    return IngestReport(
        dataset=dataset,
        received=len(rows) + len(unreadable),
        inserted=written.inserted,
        updated=written.updated,
        unchanged=written.unchanged,
        quarantined=checked.quarantined + len(conflicts),
        warnings=len(checked.findings) - checked.quarantined,
        new_findings=record_findings(engine, findings, run_id=run_id),
        conflicts=len(conflicts),
        corrected=len(written.changes) if correct else 0,
    )


def store_news(
    engine: Engine,
    rows: Sequence[NewsRow],
    *,
    source: str,
    run_id: str,
    undated: Sequence[dict[str, object]] = (),
) -> IngestReport:
    checked = validate_news(rows, undated, source=source)
    written = upsert(engine, NEWS_ITEMS, checked.accepted)
    return IngestReport(
        dataset=f"news:{source}",
        received=len(rows) + len(undated),
        inserted=written.inserted,
        updated=written.updated,
        unchanged=written.unchanged,
        quarantined=checked.quarantined,
        warnings=len(checked.findings) - checked.quarantined,
        new_findings=record_findings(engine, checked.findings, run_id=run_id),
    )


def ingest_csv(
    engine: Engine,
    path: Path,
    source: CsvSource,
    *,
    run_id: str | None = None,
    strict: bool = False,
    correct: bool = False,
) -> IngestReport:
    """Import one candle file. Unreadable rows are quarantined and the rest lands, unless ``strict``, where
    the first one raises ``CandleCsvError`` before anything is stored. ``correct``: see ``store_candles``."""
    read = read_candles(path, source, strict=strict)
    return store_candles(
        engine,
        read.rows,
        run_id=run_id or new_run_id(),
        unreadable=read.unreadable,
        dataset=candle_dataset(source.exchange, source.symbol, source.timeframe),
        correct=correct,
    )


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


def ingest_bundled(engine: Engine, *, run_id: str | None = None) -> list[IngestReport]:
    """The hourly BTC/USDT candles and the dated headlines that ship with AlphaPulse, into ``engine``."""
    run = run_id or new_run_id()
    return [
        ingest_csv(engine, bundled_path(CANDLES_FILE), CANDLES_SOURCE, run_id=run),
        ingest_headlines(engine, bundled_path(HEADLINES_FILE), run_id=run),
    ]


def ingest_candles(
    settings: Settings,
    instrument: Instrument,
    *,
    since: str | None = None,
    on_page: Callable[[IngestReport], None] | None = None,
) -> IngestReport:
    """Backfill from ``since`` (default: the settings' backfill start) or resume one instrument from its
    live exchange."""
    plan = FetchPlan(
        exchange=instrument.exchange,
        symbol=instrument.symbol,
        timeframe=instrument.timeframe,
        since=parse_since(since or settings.backfill_since),
    )
    client = make_exchange(instrument.exchange, api_base=settings.exchange_api_base)
    return ingest_exchange(open_store(settings), client, plan, on_page=on_page)


def import_candles(
    settings: Settings, path: Path, source: CsvSource, *, strict: bool = False, correct: bool = False
) -> IngestReport:
    """One candle file into the store (see ``ingest_csv``)."""
    return ingest_csv(open_store(settings), path, source, strict=strict, correct=correct)


def ingest_news(settings: Settings, location: str) -> IngestReport:
    """One RSS/Atom feed (URL or file) into the store (see ``ingest_feed``)."""
    return ingest_feed(open_store(settings), location)


def ingest_bundled_candles(settings: Settings) -> IngestReport:
    """The hourly BTC/USDT candles that ship with AlphaPulse."""
    return ingest_csv(open_store(settings), bundled_path(CANDLES_FILE), CANDLES_SOURCE)


def ingest_bundled_headlines(settings: Settings) -> IngestReport:
    """The dated crypto headlines that ship with AlphaPulse."""
    return ingest_headlines(open_store(settings), bundled_path(HEADLINES_FILE))


def announce_candles(
    settings: Settings, exchange: str, timeframe: str, reports: Mapping[str, IngestReport]
) -> bool:
    """After the candles of some symbols were ingested: the ``alphapulse.candles.stored`` event that starts
    their feature builds (see ``events.announce_stored_candles``)."""
    changed = {symbol: report.changed for symbol, report in reports.items()}
    return announce_stored_candles(open_store(settings), exchange, timeframe, changed)
