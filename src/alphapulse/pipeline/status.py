"""What the store holds now, for the commands that report on it rather than change it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from alphapulse.pipeline.instrument import Instrument
from alphapulse.pipeline.store import open_store
from alphapulse.quality import stored_findings
from alphapulse.serving.freshness import freshness_note
from alphapulse.settings import Settings
from alphapulse.store.queries import count_candles, count_news, latest_candle
from alphapulse.store.queries import stored_symbols as symbols_with_bars
from alphapulse.store.tables import QualityFinding


@dataclass(frozen=True)
class StoreSummary:
    #: The database URL, password masked.
    database: str
    candles: int
    headlines: int
    quality_findings: int
    #: Per configured symbol: what ``/signal`` will make of its latest stored bar.
    freshness: dict[str, str]


def store_summary(settings: Settings) -> StoreSummary:
    engine = open_store(settings)
    freshness = {}
    for symbol in settings.symbols:
        instrument = Instrument.of(settings, symbol)
        latest = latest_candle(engine, instrument.exchange, symbol, instrument.timeframe)
        freshness[symbol] = freshness_note(
            latest["open_time"] if latest else None,
            instrument.timeframe,
            datetime.now(UTC),
            settings.serving_max_age_bars,
        )
    return StoreSummary(
        database=settings.database_display(),
        candles=count_candles(engine),
        headlines=count_news(engine),
        quality_findings=len(stored_findings(engine)),
        freshness=freshness,
    )


def quality_findings(settings: Settings, *, dataset_prefix: str = "") -> list[QualityFinding]:
    """Every finding, quarantined rows included (nothing is dropped silently)."""
    return stored_findings(open_store(settings), dataset_prefix=dataset_prefix)


def stored_symbols(settings: Settings, market: Instrument) -> list[str]:
    """The symbols with bars stored for the market's exchange and timeframe."""
    return symbols_with_bars(open_store(settings), market.exchange, market.timeframe)
