"""Monitoring: Evidently feature drift against the champion's training window, and live outcomes."""

from alphapulse.monitoring.drift import DriftReport, drift_windows, measure_drift
from alphapulse.monitoring.outcomes import OutcomeSummary, resolved_outcomes, summarize_outcomes

__all__ = [
    "DriftReport",
    "OutcomeSummary",
    "drift_windows",
    "measure_drift",
    "resolved_outcomes",
    "summarize_outcomes",
]
