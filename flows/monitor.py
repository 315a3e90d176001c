"""Monitoring flow: drift and live outcomes per symbol; problems become (throttled) retraining events.
Each run also retires what is older than the retention age (archived first, see ``monitoring.retention``)."""

from __future__ import annotations

from typing import Any

from prefect import flow, task, unmapped

from alphapulse.monitoring.checks import (
    OutcomeCheck,
    champion_version,
    check_drift,
    check_outcomes,
    decide_retrain,
)
from alphapulse.monitoring.drift import DriftReport
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
    cache_policy=DERIVED_CACHE,
    cache_expiration=DERIVED_CACHE_EXPIRATION,
    persist_result=True,
)
def drift_task(exchange: str, symbol: str, timeframe: str, data: str, champion: str | None) -> DriftReport:
    """``data`` and ``champion`` only key the cache: the same data against the same champion is not re-run."""
    settings = get_settings()
    return check_drift(engine(), exchange=exchange, symbol=symbol, timeframe=timeframe, settings=settings)


@task(task_run_name="outcomes {symbol} {timeframe}")
def outcomes_task(exchange: str, symbol: str, timeframe: str) -> OutcomeCheck:
    settings = get_settings()
    return check_outcomes(engine(), exchange=exchange, symbol=symbol, timeframe=timeframe, settings=settings)


@task(task_run_name="retrain? {symbol} {timeframe}")
def retrain_task(symbol: str, timeframe: str, drift: DriftReport, outcomes: OutcomeCheck) -> dict[str, Any]:
    """Never cached: the throttle decides afresh, from the store, on every run."""
    decision = decide_retrain(
        engine(), symbol=symbol, timeframe=timeframe, drift=drift, outcomes=outcomes, settings=get_settings()
    )
    return {"symbol": symbol, **decision.summary()}


@task(task_run_name="retention")
def retention_task() -> dict[str, Any]:
    """Archive, then delete, prediction log rows, quality findings and reports past the retention age."""
    return apply_retention(engine(), get_settings()).summary()


@flow(name="monitor", log_prints=True, timeout_seconds=1800)
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
    retrain = retrain_task.map(names, unmapped(timeframe), drift, outcomes)
    retention = retention_task.submit()
    return {
        "drift": [{"symbol": name, **f.result().summary()} for name, f in zip(names, drift, strict=True)],
        "outcomes": [
            {"symbol": name, **vars(summary)}
            for name, f in zip(names, outcomes, strict=True)
            for summary in f.result().summaries
        ],
        "retrain": [f.result() for f in retrain],
        "retention": retention.result(),
    }
