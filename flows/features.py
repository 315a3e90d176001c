"""Feature flow: one cached build per symbol; the cache key includes a fingerprint of the stored data."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from prefect import flow, task, unmapped

from alphapulse.features import build_stored_feature_set, load_config
from alphapulse.settings import get_settings
from alphapulse.sources.bundled import pipeline_exchange
from alphapulse.store.queries import data_fingerprint
from flows.common import DERIVED_CACHE, DERIVED_CACHE_EXPIRATION, engine


@task(task_run_name="fingerprint {symbol}")
def fingerprint(exchange: str, symbol: str, timeframe: str) -> str:
    mark: str = data_fingerprint(engine(), exchange, symbol, timeframe)
    return mark


@task(
    task_run_name="features {symbol} {timeframe}",
    cache_policy=DERIVED_CACHE,
    cache_expiration=DERIVED_CACHE_EXPIRATION,
    persist_result=True,
)
def build_symbol_features(exchange: str, symbol: str, timeframe: str, data: str) -> dict[str, Any]:
    """``data`` is only part of the cache key: new candles or news give a new key and a rebuild."""
    settings = get_settings()
    config = load_config().model_copy(update={"timeframe": timeframe})
    report = build_stored_feature_set(
        engine(), exchange=exchange, symbol=symbol, config=config, data_dir=settings.data_dir
    )
    return {**asdict(report), "path": str(report.path)}


@flow(name="build-features", log_prints=True, timeout_seconds=1800)
def build_features(
    symbols: list[str] | None = None, exchange: str | None = None, timeframe: str | None = None
) -> list[dict[str, Any]]:
    settings = get_settings()
    exchange = exchange or pipeline_exchange(settings)
    timeframe = timeframe or settings.timeframe
    names = symbols or settings.symbols
    marks = fingerprint.map(unmapped(exchange), names, unmapped(timeframe))
    futures = build_symbol_features.map(unmapped(exchange), names, unmapped(timeframe), marks)
    return [future.result() for future in futures]
