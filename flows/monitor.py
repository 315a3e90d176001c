"""Monitoring flow: drift and live outcomes per symbol; problems become (throttled) retraining events.
Each run also retires what is older than the retention age (archived first, see ``monitoring.retention``)."""

from __future__ import annotations

from prefect import flow, task, unmapped

from alphapulse.monitoring.drift import DriftReport
from alphapulse.monitoring.outcomes import OutcomeCheck
from alphapulse.monitoring.retention import RetentionReport
from alphapulse.monitoring.retrain import RetrainDecision
from alphapulse.pipeline import monitor as checks
from alphapulse.pipeline.instrument import Instrument
from alphapulse.pipeline.monitor import MonitorResult, MonitorRun
from alphapulse.settings import get_settings
from flows.common import DERIVED_CACHE, DERIVED_CACHE_EXPIRATION
from flows.features import fingerprint_task


@task(task_run_name="champion {symbol} {timeframe}")
def champion_task(exchange: str, symbol: str, timeframe: str) -> str | None:
    return checks.champion_version(get_settings(), Instrument(exchange, symbol, timeframe))


@task(
    task_run_name="drift {symbol} {timeframe}",
    cache_policy=DERIVED_CACHE,
    cache_expiration=DERIVED_CACHE_EXPIRATION,
    persist_result=True,
)
def drift_task(exchange: str, symbol: str, timeframe: str, data: str, champion: str | None) -> DriftReport:
    """``data`` and ``champion`` only key the cache: the same data against the same champion is not re-run."""
    return checks.check_drift(get_settings(), Instrument(exchange, symbol, timeframe))


@task(task_run_name="outcomes {symbol} {timeframe}")
def outcomes_task(exchange: str, symbol: str, timeframe: str) -> OutcomeCheck:
    return checks.check_outcomes(get_settings(), Instrument(exchange, symbol, timeframe))


@task(task_run_name="retrain? {symbol} {timeframe}")
def retrain_task(
    exchange: str, symbol: str, timeframe: str, drift: DriftReport, outcomes: OutcomeCheck
) -> RetrainDecision:
    """Never cached: the throttle decides afresh, from the store, on every run."""
    instrument = Instrument(exchange, symbol, timeframe)
    return checks.decide_retrain(get_settings(), instrument, drift=drift, outcomes=outcomes)


@task(task_run_name="retention")
def retention_task() -> RetentionReport:
    """Archive, then delete, prediction log rows, quality findings and reports past the retention age."""
    return checks.retire_old_data(get_settings())


@flow(name="monitor", log_prints=True, timeout_seconds=1800)
def monitor(
    symbols: list[str] | None = None, exchange: str | None = None, timeframe: str | None = None
) -> MonitorRun:
    settings = get_settings()
    market = Instrument.of(settings, exchange=exchange, timeframe=timeframe)
    exchange, timeframe = market.exchange, market.timeframe
    names = symbols or settings.symbols
    marks = fingerprint_task.map(unmapped(exchange), names, unmapped(timeframe))
    champions = champion_task.map(unmapped(exchange), names, unmapped(timeframe))
    drift = drift_task.map(unmapped(exchange), names, unmapped(timeframe), marks, champions)
    outcomes = outcomes_task.map(unmapped(exchange), names, unmapped(timeframe))
    retrain = retrain_task.map(unmapped(exchange), names, unmapped(timeframe), drift, outcomes)
    retention = retention_task.submit()
    results = [
        MonitorResult(Instrument(exchange, name, timeframe), d.result(), o.result(), r.result())
        for name, d, o, r in zip(names, drift, outcomes, retrain, strict=True)
    ]
    return MonitorRun(results=results, retention=retention.result())
