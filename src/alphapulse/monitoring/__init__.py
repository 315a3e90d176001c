"""Monitoring: Evidently feature drift against the champion's recent training data, and live outcomes."""

from alphapulse.monitoring.drift import DriftPolicy, DriftReport, assess_drift, drift_windows, save_report
from alphapulse.monitoring.outcomes import OutcomeSummary, resolved_outcomes, summarize_outcomes

__all__ = [
    "DriftPolicy",
    "DriftReport",
    "OutcomeSummary",
    "assess_drift",
    "drift_windows",
    "resolved_outcomes",
    "save_report",
    "summarize_outcomes",
]
