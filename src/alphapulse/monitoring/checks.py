"""The monitor's checks as the flow and the CLI run them: drift, live outcomes, and the retraining
request they may lead to (throttled, see ``retrain``). Results go to MLflow's monitoring experiment."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import mlflow
import pandas as pd
from sqlalchemy import Engine

from alphapulse.events import DRIFT_DETECTED, PERFORMANCE_DEGRADED
from alphapulse.features import FeatureConfig, FeatureMatrix, anchor_time, build, load_config
from alphapulse.monitoring.classification import classification_report
from alphapulse.monitoring.drift import DriftPolicy, DriftReport, assess_drift, drift_windows, save_report
from alphapulse.monitoring.outcomes import OutcomeSummary, resolved_outcomes, summarize_outcomes
from alphapulse.monitoring.retrain import Problem, RetrainDecision, request_retrain
from alphapulse.settings import Settings
from alphapulse.store.queries import latest_candle, load_candles, load_news
from alphapulse.timeframes import timeframe_delta
from alphapulse.training import tracking
from alphapulse.training.registry import CHALLENGER, CHAMPION, VersionInfo, by_alias, registered_name

MONITORING_EXPERIMENT = "alphapulse-monitoring"
#: Room for missing bars when the candles a drift check needs are loaded by time.
_GAP_ALLOWANCE = 1.25


def champion_version(settings: Settings, name: str) -> str | None:
    champion = by_alias(tracking.client(settings), name, CHAMPION)
    return champion.version if champion else None


def check_drift(
    engine: Engine, *, exchange: str, symbol: str, timeframe: str, settings: Settings
) -> DriftReport:
    """Drift of the last bars against the end of the champion's training data (docs/MONITORING.md)."""
    policy = DriftPolicy.from_settings(settings)
    name = registered_name(symbol, timeframe)
    champion = by_alias(tracking.client(settings), name, CHAMPION)
    reference_end = _training_end(champion)
    config = load_config().model_copy(update={"timeframe": timeframe})
    matrix = _recent_features(engine, exchange, symbol, config, policy, reference_end)
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
    _log_drift(settings, name, report, matrix.version)
    return report


def _training_end(champion: VersionInfo | None) -> datetime | None:
    return datetime.fromisoformat(champion.data_end) if champion and champion.data_end else None


def _recent_features(
    engine: Engine,
    exchange: str,
    symbol: str,
    config: FeatureConfig,
    policy: DriftPolicy,
    reference_end: datetime | None,
) -> FeatureMatrix:
    """Features of just the bars the windows can use: loading from the anchor of the first of them
    gives the very values of a build over the whole history (see ``features.matrix``)."""
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


def _log_drift(settings: Settings, name: str, report: DriftReport, feature_version: str) -> None:
    client = tracking.client(settings)
    experiment = tracking.experiment_id(client, MONITORING_EXPERIMENT, settings)
    with mlflow.start_run(experiment_id=experiment, run_name=f"drift {name}"):
        mlflow.set_tags({"registered_model": name, "feature_version": feature_version, "check": "drift"})
        mlflow.log_params(
            {
                "reference_window": "/".join(m.isoformat() for m in report.reference_window),
                "current_window": "/".join(m.isoformat() for m in report.current_window),
                "reference_source": report.reference_source[:500],
                "threshold": report.threshold,
                "severe_factor": report.severe_factor,
                "missing_columns": ",".join(m.column for m in report.missing)[:500] or "none",
            }
        )
        mlflow.log_metrics(
            {
                "drift_share": report.drift_share,
                "drift_detected": float(report.detected),
                "drifted_columns": len(report.drifted_columns),
                "severe_columns": len(report.severe_columns),
                "compared_columns": report.compared,
                "missing_columns": len(report.missing),
            }
        )
        # The HTML is several MB (plotly inside) and the check runs hourly: MLflow keeps it for alarms only.
        for path in (report.verdict_path, report.json_path, report.html_path if report.detected else None):
            if path is not None:
                mlflow.log_artifact(str(path), artifact_path="drift")


@dataclass(frozen=True)
class OutcomeCheck:
    summaries: list[OutcomeSummary]
    champion: str | None
    #: The current champion's live figures, when it has resolved enough bars to be judged.
    judged: OutcomeSummary | None
    accuracy_floor: float
    #: Evidently classification reports (HTML) per "v<version> <role>".
    reports: dict[str, str]

    @property
    def degraded(self) -> bool:
        return self.judged is not None and self.judged.accuracy < self.accuracy_floor


def check_outcomes(
    engine: Engine, *, exchange: str, symbol: str, timeframe: str, settings: Settings
) -> OutcomeCheck:
    """Live accuracy per model version on resolved bars; only the current champion is judged."""
    horizon = load_config().labels.horizon_bars
    outcomes = resolved_outcomes(
        engine, exchange=exchange, symbol=symbol, timeframe=timeframe, horizon_bars=horizon
    )
    summaries = summarize_outcomes(outcomes)
    name = registered_name(symbol, timeframe)
    client = tracking.client(settings)
    serving = {role: by_alias(client, name, role) for role in (CHAMPION, CHALLENGER)}
    current = serving[CHAMPION]
    champion = current.version if current else None
    judged = next(
        (
            s
            for s in summaries
            if s.role == CHAMPION and s.model_version == champion and s.resolved >= settings.live_min_outcomes
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
        _log_outcomes(settings, name, check)
    return check


def _log_outcomes(settings: Settings, name: str, check: OutcomeCheck) -> None:
    """One run per check; per-version metrics, and ``champion_*`` for the version serving now."""
    client = tracking.client(settings)
    experiment = tracking.experiment_id(client, MONITORING_EXPERIMENT, settings)
    metrics: dict[str, float] = {}
    for summary in check.summaries:
        figures = {
            "live_accuracy": summary.accuracy,
            "resolved_bars": summary.resolved,
            "bars": summary.bars,
            "requests": summary.requests,
            "mean_return_when_long": summary.mean_return_when_long,
        }
        prefixes = [f"{summary.role}_v{summary.model_version}"]
        if summary.role == CHAMPION and summary.model_version == check.champion:
            prefixes.append(CHAMPION)
        for prefix in prefixes:
            metrics.update({f"{prefix}_{k}": float(v) for k, v in figures.items() if math.isfinite(v)})
    with mlflow.start_run(experiment_id=experiment, run_name=f"outcomes {name}"):
        mlflow.set_tags(
            {"registered_model": name, "check": "outcomes", "champion_version": check.champion or "none"}
        )
        mlflow.log_params({"accuracy_floor": check.accuracy_floor, "degraded": check.degraded})
        mlflow.log_metrics(metrics)
        for path in check.reports.values():
            mlflow.log_artifact(path, artifact_path="outcomes")


def problems(drift: DriftReport | None, outcomes: OutcomeCheck | None) -> list[Problem]:
    """What the checks found that retraining may fix, each with the event that asks for it."""
    found = []
    if drift is not None and drift.detected:
        found.append(
            Problem(
                event=DRIFT_DETECTED,
                reason=f"drift: {drift.reason}",
                payload={
                    "drift_share": drift.drift_share,
                    "threshold": drift.threshold,
                    "drifted_columns": list(drift.drifted_columns),
                    "severe_columns": list(drift.severe_columns),
                    "missing_columns": [m.column for m in drift.missing],
                    "reference": drift.reference_source,
                    "current_window": [m.isoformat() for m in drift.current_window],
                    "report": str(drift.html_path),
                },
            )
        )
    if outcomes is not None and outcomes.degraded and outcomes.judged is not None:
        judged = outcomes.judged
        found.append(
            Problem(
                event=PERFORMANCE_DEGRADED,
                reason=(
                    f"performance: champion v{judged.model_version} live accuracy {judged.accuracy:.3f} "
                    f"< {outcomes.accuracy_floor:.3f} on {judged.resolved} resolved bars"
                ),
                payload={
                    "model_version": judged.model_version,
                    "live_accuracy": judged.accuracy,
                    "floor": outcomes.accuracy_floor,
                    "resolved_bars": judged.resolved,
                    "requests": judged.requests,
                },
            )
        )
    return found


def decide_retrain(
    engine: Engine,
    *,
    symbol: str,
    timeframe: str,
    drift: DriftReport | None,
    outcomes: OutcomeCheck | None,
    settings: Settings,
    now: datetime | None = None,
) -> RetrainDecision:
    return request_retrain(
        engine,
        registered_name(symbol, timeframe),
        problems(drift, outcomes),
        cooldown=timedelta(hours=settings.retrain_cooldown_hours),
        now=now,
    )


@dataclass(frozen=True)
class MonitorResult:
    drift: DriftReport
    outcomes: OutcomeCheck
    retrain: RetrainDecision


def monitor_symbol(
    engine: Engine, *, exchange: str, symbol: str, timeframe: str, settings: Settings
) -> MonitorResult:
    """All three steps for one symbol (what ``alphapulse monitor`` runs; the flow runs them as tasks)."""
    drift = check_drift(engine, exchange=exchange, symbol=symbol, timeframe=timeframe, settings=settings)
    outcomes = check_outcomes(
        engine, exchange=exchange, symbol=symbol, timeframe=timeframe, settings=settings
    )
    retrain = decide_retrain(
        engine, symbol=symbol, timeframe=timeframe, drift=drift, outcomes=outcomes, settings=settings
    )
    return MonitorResult(drift=drift, outcomes=outcomes, retrain=retrain)
