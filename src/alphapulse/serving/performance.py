"""``GET /models/performance``: the served models' live accuracy, from the store alone.

The figures are the monitor's (``monitoring.outcomes``: one prediction per model version and bar,
judged at the horizon of the champion's feature config), so the API, the exporter's gauges and the
retraining decision never disagree. The service never talks to MLflow; everything needed is in the
prediction log and the candles. A computation reads the whole log of each instrument, so a worker
reuses its last answer for ``MAX_AGE`` seconds: outcomes resolve once a bar, not once a request.
"""

from __future__ import annotations

import math
import threading
import time
from datetime import UTC, datetime

from sqlalchemy import Engine

from alphapulse.monitoring.outcomes import resolved_outcomes, summarize_outcomes
from alphapulse.serving.models import ModelSet
from alphapulse.serving.schemas import ModelPerformance, PerformanceInfo

#: Seconds a worker reuses a computed answer.
MAX_AGE = 30.0


def live_performance(engine: Engine, served: ModelSet, exchange: str) -> PerformanceInfo:
    rows = []
    for (symbol, timeframe), models in sorted(served.instruments.items()):
        horizon = models.champion.config.labels.horizon_bars
        outcomes = resolved_outcomes(
            engine, exchange=exchange, symbol=symbol, timeframe=timeframe, horizon_bars=horizon
        )
        for summary in summarize_outcomes(outcomes):
            rows.append(
                ModelPerformance(
                    symbol=symbol,
                    timeframe=timeframe,
                    role="champion" if summary.role == "champion" else "challenger",
                    model_version=summary.model_version,
                    horizon_bars=horizon,
                    requests=summary.requests,
                    bars=summary.bars,
                    resolved=summary.resolved,
                    abstained=summary.abstained,
                    accuracy=_known(summary.accuracy),
                    accuracy_low=_known(summary.accuracy_low),
                    accuracy_high=_known(summary.accuracy_high),
                )
            )
    return PerformanceInfo(computed_at=datetime.now(UTC), models=rows)


class PerformanceCache:
    """One computation per ``MAX_AGE`` seconds and model set, however many requests ask meanwhile."""

    def __init__(self, engine: Engine, exchange: str) -> None:
        self._engine = engine
        self._exchange = exchange
        self._lock = threading.Lock()
        self._last: tuple[float, ModelSet, PerformanceInfo] | None = None

    def get(self, served: ModelSet) -> PerformanceInfo:
        with self._lock:
            last = self._last
            if last is not None and last[1] is served and time.monotonic() - last[0] < MAX_AGE:
                return last[2]
            answer = live_performance(self._engine, served, self._exchange)
            self._last = (time.monotonic(), served, answer)
            return answer


def _known(value: float) -> float | None:
    return None if math.isnan(value) else value
