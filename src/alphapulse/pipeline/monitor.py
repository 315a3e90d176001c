"""The monitor use case: drift, live outcomes, and the retraining request they may lead to (throttled,
see ``monitoring.retrain``). Results go to MLflow's monitoring experiment (``monitoring.runlog``).

Features are computed with the config the champion was trained on (recorded on its version), so the
windows compared are the very columns the model reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from alphapulse.features import FeatureConfig, FeatureMatrix, anchor_time, build
from alphapulse.monitoring.classification import classification_report
from alphapulse.monitoring.drift import DriftPolicy, DriftReport, assess_drift, drift_windows, save_report
from alphapulse.monitoring.outcomes import OutcomeCheck, resolved_outcomes, summarize_outcomes
from alphapulse.monitoring.retention import RetentionReport, apply_retention
from alphapulse.monitoring.retrain import RetrainDecision, problems, request_retrain
from alphapulse.monitoring.runlog import log_drift, log_outcomes
from alphapulse.pipeline.instrument import Instrument
from alphapulse.pipeline.store import open_store
from alphapulse.settings import Settings
from alphapulse.store.queries import latest_candle, load_candles, load_news
from alphapulse.timeframes import timeframe_delta
from alphapulse.training import tracking
from alphapulse.training.registry import (
    CHALLENGER,
    CHAMPION,
    VersionInfo,
    by_alias,
    model_feature_config,
    registered_name,
)

#: Room for missing bars when the candles a drift check needs are loaded by time.
_GAP_ALLOWANCE = 1.25


def champion_version(settings: Settings, instrument: Instrument) -> str | None:
    """The version the drift check compares against: its cache key changes with it."""
    name = registered_name(instrument.symbol, instrument.timeframe)
    champion = by_alias(tracking.client(settings), name, CHAMPION)
    return champion.version if champion else None


def check_drift(settings: Settings, instrument: Instrument) -> DriftReport:
    """Drift of the last bars against the end of the champion's training data (docs/MONITORING.md)."""
    engine = open_store(settings)
    policy = DriftPolicy.from_settings(settings)
    name = registered_name(instrument.symbol, instrument.timeframe)
    champion = by_alias(tracking.client(settings), name, CHAMPION)
    reference_end = _training_end(champion)
    config = model_feature_config(engine, champion, instrument.symbol, instrument.timeframe)
    matrix = _recent_features(engine, instrument, config, policy, reference_end)
    windows = drift_windows(
        matrix.frame,
        matrix.feature_columns,
        policy,
        reference_end=reference_end,
        champion=champion.version if champion else None,
    )
    report = assess_drift(windows, policy)
    stamp = report.current_window[1].strftime("%Y%m%dT%H%M")
    report = save_report(
        report, windows, out_dir=settings.data_dir / "reports" / "drift" / name, name=f"drift-{stamp}"
    )
    log_drift(settings, name, report, matrix.version)
    return report


def _training_end(champion: VersionInfo | None) -> datetime | None:
    return datetime.fromisoformat(champion.data_end) if champion and champion.data_end else None


def _recent_features(
    engine: Engine,
    instrument: Instrument,
    config: FeatureConfig,
    policy: DriftPolicy,
    reference_end: datetime | None,
) -> FeatureMatrix:
    """Features of just the bars the windows can use: loading from the anchor of the first of them
    gives the very values of a build over the whole history (see ``features.matrix``)."""
    exchange, symbol = instrument.exchange, instrument.symbol
    latest = latest_candle(engine, exchange, symbol, config.timeframe)
    if latest is None:
        raise ValueError(f"no {symbol} {config.timeframe} candles stored for {exchange}")
    step = timeframe_delta(config.timeframe)
    before_current = latest["open_time"] - policy.recent_bars * step
    last = min(before_current, reference_end) if reference_end else before_current
    first = pd.Timestamp(last - policy.reference_bars * _GAP_ALLOWANCE * step)
    origin = anchor_time(first, config).to_pydatetime()
    candles = load_candles(engine, exchange, symbol, config.timeframe, start=origin)
    news = load_news(engine, start=origin - config.sentiment.news_lookback)
    matrix = build(candles, news, config)
    # From ``first`` on every bar's anchor was loaded; an earlier bar may belong to a block whose was not.
    return FeatureMatrix(
        frame=matrix.frame[matrix.frame.index >= first],
        feature_columns=matrix.feature_columns,
        version=matrix.version,
        warmup_bars=matrix.warmup_bars,
        config=matrix.config,
    )


def check_outcomes(settings: Settings, instrument: Instrument) -> OutcomeCheck:
    """Live accuracy per model version on resolved bars; only the current champion is judged."""
    engine = open_store(settings)
    name = registered_name(instrument.symbol, instrument.timeframe)
    client = tracking.client(settings)
    serving = {role: by_alias(client, name, role) for role in (CHAMPION, CHALLENGER)}
    current = serving[CHAMPION]
    outcomes = resolved_outcomes(
        engine,
        exchange=instrument.exchange,
        symbol=instrument.symbol,
        timeframe=instrument.timeframe,
        horizon_bars=model_feature_config(
            engine, current, instrument.symbol, instrument.timeframe
        ).labels.horizon_bars,
    )
    summaries = summarize_outcomes(outcomes)
    champion = current.version if current else None
    judged = next(
        (
            s
            for s in summaries
            if s.role == CHAMPION and s.model_version == champion and s.called >= settings.live_min_outcomes
        ),
        None,
    )
    reports = {}
    out_dir = settings.data_dir / "reports" / "outcomes" / name
    for role, info in serving.items():
        if info is None:
            continue
        rows = outcomes[(outcomes["role"] == role) & (outcomes["model_version"] == info.version)]
        label = f"v{info.version} {role}"
        path = classification_report(rows, out_dir=out_dir, name=f"classification-v{info.version}-{role}")
        if path is not None:
            reports[label] = str(path)
    check = OutcomeCheck(
        summaries=summaries,
        champion=champion,
        judged=judged,
        accuracy_floor=settings.live_accuracy_floor,
        reports=reports,
    )
    if summaries:
        log_outcomes(settings, name, check)
    return check


def decide_retrain(
    settings: Settings,
    instrument: Instrument,
    *,
    drift: DriftReport | None,
    outcomes: OutcomeCheck | None,
    now: datetime | None = None,
) -> RetrainDecision:
    """Ask for retraining when a check found a problem it may fix, at most once per cooldown."""
    return request_retrain(
        open_store(settings),
        registered_name(instrument.symbol, instrument.timeframe),
        problems(drift, outcomes),
        cooldown=timedelta(hours=settings.retrain_cooldown_hours),
        now=now,
    )


@dataclass(frozen=True)
class MonitorResult:
    """The three checks of one instrument."""

    instrument: Instrument
    drift: DriftReport
    outcomes: OutcomeCheck
    retrain: RetrainDecision


def monitor_instrument(settings: Settings, instrument: Instrument) -> MonitorResult:
    """All three steps for one instrument (what ``alphapulse monitor`` runs; the flow runs them as tasks)."""
    drift = check_drift(settings, instrument)
    outcomes = check_outcomes(settings, instrument)
    retrain = decide_retrain(settings, instrument, drift=drift, outcomes=outcomes)
    return MonitorResult(instrument=instrument, drift=drift, outcomes=outcomes, retrain=retrain)


def retire_old_data(settings: Settings) -> RetentionReport:
    """Archive, then delete, prediction log rows, quality findings and reports past the retention age."""
    return apply_retention(open_store(settings), settings)


@dataclass(frozen=True)
class MonitorRun:
    """One monitoring pass over several instruments (the flow runs their checks in parallel), and the
    retention that goes with it."""

    results: list[MonitorResult]
    retention: RetentionReport

    def summary(self) -> dict[str, Any]:
        """JSON-ready figures per symbol, for the flow run's result and ``alphapulse run --json``."""
        return {
            "drift": [{"symbol": r.instrument.symbol, **r.drift.summary()} for r in self.results],
            "outcomes": [
                {"symbol": r.instrument.symbol, **vars(summary)}
                for r in self.results
                for summary in r.outcomes.summaries
            ],
            "retrain": [{"symbol": r.instrument.symbol, **r.retrain.summary()} for r in self.results],
            "retention": self.retention.summary(),
        }
