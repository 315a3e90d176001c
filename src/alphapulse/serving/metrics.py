"""Custom Prometheus metrics on the service's ``/metrics``, beside BentoML's own request metrics
(``bentoml_service_request_total`` and ``..._request_duration_seconds`` by endpoint and status).

``bentoml.metrics`` creates the collectors lazily inside the server process, where BentoML has set up
Prometheus' multi-process mode, so every worker's counts add up in one scrape. The gauges take the
largest value any worker holds: a model or a bar one worker still serves counts as served.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

import bentoml

if TYPE_CHECKING:
    from alphapulse.serving.bundle import ServedModel

PREDICTIONS = bentoml.metrics.Counter(
    name="alphapulse_predictions",
    documentation="Predictions answered, by endpoint, direction, model role and model version.",
    labelnames=["endpoint", "direction", "role", "model_version"],
)
LATENCY = bentoml.metrics.Histogram(
    name="alphapulse_prediction_latency_seconds",
    documentation="Time inside the service to answer one prediction (features, model, answer), by "
    "endpoint and the champion's model version.",
    labelnames=["endpoint", "model_version"],
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
MODEL_INFO = bentoml.metrics.Gauge(
    name="alphapulse_model_info",
    documentation="1 for every model a worker serves (0 once replaced), with what it is.",
    labelnames=["model", "symbol", "timeframe", "role", "model_version", "feature_set", "bento_tag"],
    multiprocess_mode="max",
)
MODEL_LOAD = bentoml.metrics.Gauge(
    name="alphapulse_model_load_seconds",
    documentation="How long loading the served model took (from the BentoML store, in one worker).",
    labelnames=["symbol", "timeframe", "role", "model_version"],
    multiprocess_mode="max",
)
SIGNAL_BAR = bentoml.metrics.Gauge(
    name="alphapulse_signal_bar_timestamp_seconds",
    documentation="Open time of the bar /signal answers for, per instrument.",
    labelnames=["symbol", "timeframe"],
    multiprocess_mode="max",
)
SIGNAL_PUBLISHED = bentoml.metrics.Gauge(
    name="alphapulse_signal_published_timestamp_seconds",
    documentation="When the features /signal answers from were published (the signal's age is now "
    "minus this), per instrument.",
    labelnames=["symbol", "timeframe"],
    multiprocess_mode="max",
)


AUTH_FAILURES = bentoml.metrics.Counter(
    name="alphapulse_auth_failures",
    documentation="Requests refused for want of a valid API key, by reason (missing, invalid).",
    labelnames=["reason"],
)
REFUSED = bentoml.metrics.Counter(
    name="alphapulse_access_refused",
    documentation="Authenticated requests (or locked-out addresses) refused by the access gate, by reason "
    "(scope, rate_limited, locked_out, busy) and endpoint scope.",
    labelnames=["reason", "scope"],
)


def auth_failed(reason: str) -> None:
    AUTH_FAILURES.labels(reason=reason).inc()


def refused(reason: str, scope: str) -> None:
    REFUSED.labels(reason=reason, scope=scope).inc()


def observe(endpoint: str, direction: str, role: str, model_version: str, seconds: float | None) -> None:
    """Count one answer; ``seconds`` (the champion's, per request) feeds the latency histogram."""
    PREDICTIONS.labels(endpoint=endpoint, direction=direction, role=role, model_version=model_version).inc()
    if seconds is not None and role == "champion":
        LATENCY.labels(endpoint=endpoint, model_version=model_version).observe(seconds)


def models_served(loaded: Iterable[ServedModel], replaced: Iterable[ServedModel]) -> None:
    """The models a (re)load brought in, and those it replaced (their info goes to 0)."""
    for model in replaced:
        MODEL_INFO.labels(**_model_labels(model)).set(0)
    for model in loaded:
        MODEL_INFO.labels(**_model_labels(model)).set(1)
        MODEL_LOAD.labels(
            symbol=model.symbol, timeframe=model.timeframe, role=model.role, model_version=model.ref.version
        ).set(model.load_seconds)


def signal_read(symbol: str, timeframe: str, bar: datetime, published: datetime) -> None:
    SIGNAL_BAR.labels(symbol=symbol, timeframe=timeframe).set(bar.timestamp())
    SIGNAL_PUBLISHED.labels(symbol=symbol, timeframe=timeframe).set(published.timestamp())


def _model_labels(model: ServedModel) -> dict[str, str]:
    return {
        "model": model.ref.name,
        "symbol": model.symbol,
        "timeframe": model.timeframe,
        "role": model.role,
        "model_version": model.ref.version,
        "feature_set": model.ref.feature_set,
        "bento_tag": model.tag,
    }
