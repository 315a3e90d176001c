"""Custom Prometheus metrics on the service's ``/metrics``, beside BentoML's own request metrics.

``bentoml.metrics`` creates the collectors lazily inside the server process, where BentoML has set up
Prometheus' multi-process mode, so every worker's counts add up in one scrape.
"""

from __future__ import annotations

import bentoml

PREDICTIONS = bentoml.metrics.Counter(
    name="alphapulse_predictions",
    documentation="Predictions answered, by endpoint, direction, model role and model version.",
    labelnames=["endpoint", "direction", "role", "model_version"],
)
LATENCY = bentoml.metrics.Histogram(
    name="alphapulse_prediction_latency_seconds",
    documentation="Time inside the service to answer one prediction (features, model, answer).",
    labelnames=["endpoint"],
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)


def observe(endpoint: str, direction: str, role: str, model_version: str, seconds: float | None) -> None:
    """Count one answer; ``seconds`` (the champion's, per request) feeds the latency histogram."""
    PREDICTIONS.labels(endpoint=endpoint, direction=direction, role=role, model_version=model_version).inc()
    if seconds is not None and role == "champion":
        LATENCY.labels(endpoint=endpoint).observe(seconds)
