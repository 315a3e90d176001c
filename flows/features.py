"""Feature flow: one cached build per symbol; the cache key includes a fingerprint of the stored data."""

from __future__ import annotations

from prefect import flow, task, unmapped

from alphapulse.pipeline import features
from alphapulse.pipeline.features import FeatureSetReport
from alphapulse.pipeline.instrument import Instrument
from alphapulse.settings import get_settings
from flows.common import DERIVED_CACHE, DERIVED_CACHE_EXPIRATION


@task(task_run_name="fingerprint {symbol}")
def fingerprint_task(exchange: str, symbol: str, timeframe: str) -> str:
    """The stored data's mark, which keys the caches of the tasks derived from it."""
    return features.fingerprint(get_settings(), Instrument(exchange, symbol, timeframe))


@task(
    task_run_name="features {symbol} {timeframe}",
    cache_policy=DERIVED_CACHE,
    cache_expiration=DERIVED_CACHE_EXPIRATION,
    persist_result=True,
)
def build_symbol_features(exchange: str, symbol: str, timeframe: str, data: str) -> FeatureSetReport:
    """``data`` is only part of the cache key: new candles or news give a new key and a rebuild."""
    return features.build_features(get_settings(), Instrument(exchange, symbol, timeframe))


@flow(name="build-features", log_prints=True, timeout_seconds=1800)
def build_features(
    symbols: list[str] | None = None, exchange: str | None = None, timeframe: str | None = None
) -> list[FeatureSetReport]:
    settings = get_settings()
    market = Instrument.of(settings, exchange=exchange, timeframe=timeframe)
    exchange, timeframe = market.exchange, market.timeframe
    names = symbols or settings.symbols
    marks = fingerprint_task.map(unmapped(exchange), names, unmapped(timeframe))
    futures = build_symbol_features.map(unmapped(exchange), names, unmapped(timeframe), marks)
    return [future.result() for future in futures]
