"""Ingestion flows: candles mapped over symbols (they run in parallel), news mapped over feeds."""

from __future__ import annotations

from prefect import flow, task, unmapped

from alphapulse.pipeline import ingest
from alphapulse.pipeline.ingest import IngestReport
from alphapulse.pipeline.instrument import Instrument
from alphapulse.settings import get_settings
from alphapulse.sources.bundled import CANDLES_SOURCE
from flows.common import NETWORK_BACKOFF, NETWORK_JITTER, NETWORK_RETRIES, transient_failure


@task(
    task_run_name="candles {exchange} {symbol} {timeframe}",
    retries=NETWORK_RETRIES,
    retry_delay_seconds=NETWORK_BACKOFF,
    retry_jitter_factor=NETWORK_JITTER,
    retry_condition_fn=transient_failure,
)
def ingest_symbol_candles(exchange: str, symbol: str, timeframe: str, since: str) -> IngestReport:
    return ingest.ingest_candles(get_settings(), Instrument(exchange, symbol, timeframe), since=since)


@task(task_run_name="bundled candles", timeout_seconds=600)
def ingest_bundled_candles_task() -> IngestReport:
    return ingest.ingest_bundled_candles(get_settings())


@task(
    task_run_name="feed {location}",
    retries=NETWORK_RETRIES,
    retry_delay_seconds=NETWORK_BACKOFF,
    retry_jitter_factor=NETWORK_JITTER,
    retry_condition_fn=transient_failure,
)
def ingest_feed_task(location: str) -> IngestReport:
    return ingest.ingest_news(get_settings(), location)


@task(task_run_name="bundled headlines", timeout_seconds=600)
def ingest_bundled_headlines_task() -> IngestReport:
    return ingest.ingest_bundled_headlines(get_settings())


@flow(name="ingest-candles", log_prints=True, timeout_seconds=3600)
def ingest_candles(
    symbols: list[str] | None = None,
    exchange: str | None = None,
    timeframe: str | None = None,
    since: str | None = None,
) -> list[IngestReport]:
    """Candles for every symbol from the configured exchange, or the bundled dataset when none is set.

    One ``alphapulse.candles.stored`` event names the symbols that stored new or corrected bars, or whose
    features are behind their bars: the features deployment's trigger (prefect.yaml)."""
    settings = get_settings()
    exchange = exchange or settings.exchange
    if exchange is None:
        bundled = ingest_bundled_candles_task()
        source = CANDLES_SOURCE
        ingest.announce_candles(settings, source.exchange, source.timeframe, {source.symbol: bundled})
        return [bundled]
    names = symbols or settings.symbols
    timeframe = Instrument.of(settings, exchange=exchange, timeframe=timeframe).timeframe
    futures = ingest_symbol_candles.map(
        unmapped(exchange), names, unmapped(timeframe), unmapped(since or settings.backfill_since)
    )
    reports = [future.result() for future in futures]
    ingest.announce_candles(settings, exchange, timeframe, dict(zip(names, reports, strict=True)))
    return reports


@flow(name="ingest-news", log_prints=True, timeout_seconds=900)
def ingest_news(feeds: list[str] | None = None) -> list[IngestReport]:
    """Configured RSS/Atom feeds; with none configured and no exchange, the bundled headlines."""
    settings = get_settings()
    locations = feeds if feeds is not None else settings.news_feeds
    if not locations:
        return [ingest_bundled_headlines_task()] if settings.bundled else []
    futures = ingest_feed_task.map(locations)
    return [future.result() for future in futures]
