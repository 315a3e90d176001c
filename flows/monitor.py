"""Monitoring flow: drift and live outcomes per symbol; problems become events that retrain. Each run
also retires what is older than the retention age (archived first, see ``monitoring.retention``)."""

from __future__ import annotations

from typing import Any

from prefect import flow, task, unmapped

from alphapulse.monitoring.checks import champion_version, check_drift, check_outcomes
from alphapulse.monitoring.retention import apply_retention
from alphapulse.settings import get_settings
from alphapulse.sources.bundled import pipeline_exchange
from alphapulse.training.registry import registered_name
from flows.common import DERIVED_CACHE, DERIVED_CACHE_EXPIRATION, engine
from flows.features import fingerprint


@task(task_run_name="champion {symbol} {timeframe}")
def champion_task(symbol: str, timeframe: str) -> str | None:
    return champion_version(get_settings(), registered_name(symbol, timeframe))


@task(
    task_run_name="drift {symbol} {timeframe}",
    timeout_seconds=1800,
    cache_policy=DERIVED_CACHE,
    cache_expiration=DERIVED_CACHE_EXPIRATION,
    persist_result=True,
)
def drift_task(exchange: str, symbol: str, timeframe: str, data: str, champion: str | None) -> dict[str, Any]:
    """``data`` and ``champion`` only key the cache: the same data against the same champion is not re-run."""
    report = check_drift(
        engine(), exchange=exchange, symbol=symbol, timeframe=timeframe, settings=get_settings()
    )
    return {
        "symbol": symbol,
        "drift_share": report.drift_share,
        "detected": report.detected,
        "drifted_columns": list(report.drifted_columns),
        "html": str(report.html_path),
    }


@task(task_run_name="outcomes {symbol} {timeframe}", timeout_seconds=600)
def outcomes_task(exchange: str, symbol: str, timeframe: str) -> list[dict[str, Any]]:
    summaries = check_outcomes(
        engine(), exchange=exchange, symbol=symbol, timeframe=timeframe, settings=get_settings()
    )
    return [vars(summary) for summary in summaries]


@task(task_run_name="retention")
def retention_task() -> dict[str, Any]:
    """Archive, then delete, prediction log rows, quality findings and reports past the retention age."""
    return apply_retention(engine(), get_settings()).summary()


@flow(name="monitor", log_prints=True)
def monitor(
    symbols: list[str] | None = None, exchange: str | None = None, timeframe: str | None = None
) -> dict[str, Any]:
    settings = get_settings()
    exchange = exchange or pipeline_exchange(settings)
    timeframe = timeframe or settings.timeframe
    names = symbols or settings.symbols
    marks = fingerprint.map(unmapped(exchange), names, unmapped(timeframe))
    champions = champion_task.map(names, unmapped(timeframe))
    drift = drift_task.map(unmapped(exchange), names, unmapped(timeframe), marks, champions)
    outcomes = outcomes_task.map(unmapped(exchange), names, unmapped(timeframe))
    retention = retention_task.submit()
    return {
        "drift": [f.result() for f in drift],
        "outcomes": [f.result() for f in outcomes],
        "retention": retention.result(),
    }
