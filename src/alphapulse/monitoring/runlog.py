"""The monitor's checks in MLflow: one run per check in the monitoring experiment, the figures as metrics
and the reports as artifacts, so drift and live accuracy sit beside the training runs in one UI."""

from __future__ import annotations

import math

import mlflow

from alphapulse.monitoring.drift import DriftReport
from alphapulse.monitoring.outcomes import OutcomeCheck
from alphapulse.settings import Settings
from alphapulse.training import tracking
from alphapulse.training.registry import CHAMPION

MONITORING_EXPERIMENT = "alphapulse-monitoring"


def log_drift(settings: Settings, name: str, report: DriftReport, feature_version: str) -> None:
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


def log_outcomes(settings: Settings, name: str, check: OutcomeCheck) -> None:
    """One run per check; per-version metrics, and ``champion_*`` for the version serving now."""
    client = tracking.client(settings)
    experiment = tracking.experiment_id(client, MONITORING_EXPERIMENT, settings)
    metrics: dict[str, float] = {}
    for summary in check.summaries:
        figures = {
            "live_accuracy": summary.accuracy,
            "resolved_bars": summary.resolved,
            "abstained_bars": summary.abstained,
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
