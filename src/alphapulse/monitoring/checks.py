"""The monitor's two checks as the flow runs them: drift and live outcomes, each ending in an event
when it finds a problem, so Prefect's deployment triggers can start a retraining."""

from __future__ import annotations

from datetime import datetime

import mlflow
from sqlalchemy import Engine

from alphapulse.events import DRIFT_DETECTED, PERFORMANCE_DEGRADED, emit
from alphapulse.features import build, load_config
from alphapulse.monitoring.drift import DriftReport, drift_windows, measure_drift
from alphapulse.monitoring.outcomes import OutcomeSummary, resolved_outcomes, summarize_outcomes
from alphapulse.settings import Settings
from alphapulse.store.queries import load_candles, load_news
from alphapulse.training import tracking
from alphapulse.training.registry import by_alias, registered_name

MONITORING_EXPERIMENT = "alphapulse-monitoring"


def champion_version(settings: Settings, name: str) -> str | None:
    champion = by_alias(tracking.client(settings), name, "champion")
    return champion.version if champion else None


def champion_window(settings: Settings, name: str) -> tuple[datetime, datetime] | None:
    """The data window the current champion was trained on, or None when there is no champion."""
    champion = by_alias(tracking.client(settings), name, "champion")
    if champion is None or not champion.data_start or not champion.data_end:
        return None
    return datetime.fromisoformat(champion.data_start), datetime.fromisoformat(champion.data_end)


def check_drift(
    engine: Engine, *, exchange: str, symbol: str, timeframe: str, settings: Settings
) -> DriftReport:
    config = load_config().model_copy(update={"timeframe": timeframe})
    matrix = build(load_candles(engine, exchange, symbol, timeframe), load_news(engine), config)
    name = registered_name(symbol, timeframe)
    reference, current = drift_windows(
        matrix.frame,
        matrix.feature_columns,
        recent_bars=settings.drift_recent_bars,
        reference=champion_window(settings, name),
    )
    stamp = current.index[-1].strftime("%Y%m%dT%H%M")
    report = measure_drift(
        reference,
        current,
        threshold=settings.drift_share_threshold,
        out_dir=settings.data_dir / "reports" / "drift" / name,
        name=f"drift-{stamp}",
    )
    _log_to_mlflow(settings, name, report, matrix.version)
    if report.detected:
        emit(
            DRIFT_DETECTED,
            model_name=name,
            payload={
                "drift_share": report.drift_share,
                "threshold": report.threshold,
                "drifted_columns": list(report.drifted_columns),
                "report": str(report.html_path),
            },
        )
    return report


def _log_to_mlflow(settings: Settings, name: str, report: DriftReport, feature_version: str) -> None:
    client = tracking.client(settings)
    experiment = tracking.experiment_id(client, MONITORING_EXPERIMENT, settings)
    with mlflow.start_run(experiment_id=experiment, run_name=f"drift {name}"):
        mlflow.set_tags({"registered_model": name, "feature_version": feature_version, "check": "drift"})
        mlflow.log_params(
            {
                "reference_window": "/".join(m.isoformat() for m in report.reference_window),
                "current_window": "/".join(m.isoformat() for m in report.current_window),
                "threshold": report.threshold,
            }
        )
        mlflow.log_metrics(
            {"drift_share": report.drift_share, "drifted_columns": len(report.drifted_columns)}
        )
        mlflow.log_artifact(str(report.html_path), artifact_path="drift")
        mlflow.log_artifact(str(report.json_path), artifact_path="drift")


def check_outcomes(
    engine: Engine, *, exchange: str, symbol: str, timeframe: str, settings: Settings
) -> list[OutcomeSummary]:
    horizon = load_config().labels.horizon_bars
    outcomes = resolved_outcomes(
        engine, exchange=exchange, symbol=symbol, timeframe=timeframe, horizon_bars=horizon
    )
    summaries = summarize_outcomes(outcomes)
    name = registered_name(symbol, timeframe)
    for summary in summaries:
        judged = summary.role == "champion" and summary.resolved >= settings.live_min_outcomes
        if judged and summary.accuracy < settings.live_accuracy_floor:
            emit(
                PERFORMANCE_DEGRADED,
                model_name=name,
                payload={
                    "model_version": summary.model_version,
                    "live_accuracy": summary.accuracy,
                    "floor": settings.live_accuracy_floor,
                    "resolved": summary.resolved,
                },
            )
    return summaries
