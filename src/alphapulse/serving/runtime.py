"""The service's requests without the service: features, answers, the prediction log, reloads by key.

``bentos/service.py`` only maps HTTP onto :class:`ServingRuntime`, so the behaviour is plain Python that
tests and benchmarks can hold. One instance lives in each server worker; what it answers from (the models,
their features, the store's health) is its :class:`~alphapulse.serving.worker.Worker`'s. Constructing a
runtime also tunes its process for serving: the GIL switch interval applies to the whole worker process.
"""

from __future__ import annotations

import math
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import pandas as pd

from alphapulse import decisions
from alphapulse.features import get_scorer, load_config
from alphapulse.features.sentiment_compare import compare, unanimity
from alphapulse.serving import metrics
from alphapulse.serving.answer import prediction
from alphapulse.serving.bundle import ServedModel
from alphapulse.serving.freshness import ensure_fresh
from alphapulse.serving.history import Computed, PredictHistory
from alphapulse.serving.performance import PerformanceCache
from alphapulse.serving.predlog import PredictionWriter, prediction_row
from alphapulse.serving.schemas import (
    BatchPrediction,
    CandleIn,
    FeatureRowIn,
    HeadlineIn,
    HeadlineSentiment,
    ModelSetInfo,
    PerformanceInfo,
    Prediction,
    ScorerReading,
    SentimentComparison,
)
from alphapulse.serving.scores import LatestScores, Scorer, score
from alphapulse.serving.worker import Worker
from alphapulse.settings import Settings
from alphapulse.sources.modelled import pipeline_exchange
from alphapulse.store import make_engine

#: Seconds a thread may hold the GIL while another waits (CPython's default is 5 ms). The prediction
#: writer converts hundreds of rows per batch in Python; at 5 ms every request arriving meanwhile waited
#: up to 5 ms for the GIL, about 1% of them at one client, so the p99 was the switch interval. At 1 ms
#: the p99 with one client is 2.6-3.8 ms instead of 5.5-10.7 ms, with no throughput lost at 32 clients.
GIL_SWITCH_INTERVAL = 0.001


@dataclass(frozen=True)
class _Answered:
    """One model's answer to a request, with what its prediction-log row needs beyond the answer."""

    model: ServedModel
    answer: Prediction
    window_start: datetime


class ServingRuntime:
    """One worker's request handling: each endpoint's answer, and its rows for the prediction log."""

    def __init__(self, settings: Settings, *, bento: str | None = None) -> None:
        sys.setswitchinterval(GIL_SWITCH_INTERVAL)
        self._settings = settings
        self._bento = bento
        self._engine = make_engine(settings.database_url)
        self._writer = PredictionWriter(self._engine)
        self._latest_scores = LatestScores()
        self._worker = Worker(settings, self._engine)
        self._performance = PerformanceCache(self._engine, pipeline_exchange(settings))
        #: ``/predict``'s store candles and memo of computed rows; it reads the store only while the
        #: worker's health check sees it answering.
        self._history = PredictHistory(
            self._engine,
            pipeline_exchange(settings),
            refresh_seconds=settings.serving_refresh_seconds,
            store_up=lambda: self._worker.store_reachable,
        )
        #: ``/sentiment``'s scorers, loaded now: a missing extra or model stops the worker at start
        #: (naming it) instead of failing requests later. The same instances as the features' (one
        #: FinBERT per process), without their cache: ``compare`` keeps clients' texts per request only.
        self._sentiment = {name: get_scorer(name).scorer for name in settings.serving_sentiment_scorers}
        self._neutral_band = load_config().sentiment.neutral_band

    @property
    def ready(self) -> bool:
        return self._worker.ready

    def close(self) -> None:
        self._worker.close()
        self._writer.close()
        self._engine.dispose()

    def status(self) -> ModelSetInfo:
        """What this worker serves, since when, from which Bento."""
        return self._worker.models.current.describe().model_copy(update={"bento": self._bento})

    def performance(self) -> PerformanceInfo:
        return self._performance.get(self._worker.models.current)

    def admin_reload(self) -> ModelSetInfo:
        """Reload every worker: this one now, the others within a poll of the marker file."""
        self._worker.models.reload_everywhere()
        return self.status()

    def sentiment(self, headlines: Sequence[str]) -> SentimentComparison:
        """Each configured scorer's reading of each headline, side by side (``/sentiment``)."""
        compared = compare(headlines, self._sentiment, self._neutral_band)
        return SentimentComparison(
            scorers=list(self._sentiment),
            neutral_band=self._neutral_band,
            unanimity=unanimity(compared) or 0.0,
            headlines=[
                HeadlineSentiment(
                    text=item.text,
                    readings=[
                        ScorerReading(scorer=r.scorer, score=r.score, polarity=r.polarity)
                        for r in item.readings
                    ],
                    consensus=item.consensus,
                    agreement=item.agreement,
                )
                for item in compared
            ],
        )

    def predict(
        self,
        symbol: str,
        timeframe: str,
        candles: Sequence[CandleIn],
        headlines: Sequence[HeadlineIn],
        *,
        client: str,
    ) -> Prediction:
        """Features of the client's last bar (the same builder as training) on the client's bars, completed
        from the store's when they do not reach back to the bar's anchor (``serving.history``), then the
        champion."""
        started = time.perf_counter()
        request_id = _request_id()
        models = self._worker.models.current.answering(symbol, timeframe)
        now = datetime.now(UTC)
        computed: dict[str, Computed] = {}
        answers = []
        for model in models.roles:
            version = model.predictor.feature_version
            if version not in computed:
                computed[version] = self._history.features(
                    symbol, version, model.config, candles, headlines, now
                )
            features, window_start = computed[version].features, computed[version].window_start
            answers.append(
                self._answer(
                    "predict",
                    score,
                    request_id,
                    model,
                    symbol,
                    features,
                    window_start,
                    candles[-1].close,
                    started,
                    datetime.now(UTC),
                )
            )
        return self._log(answers, client)

    def signal(self, symbol: str, timeframe: str, *, client: str) -> Prediction:
        """The latest closed bar from precomputed features: a lookup and one model call per new bar; a bar
        older than ``serving_max_age_bars`` is a ``StaleBarError`` (503), never a silent old answer, and
        features this worker has not read are a ``StoreUnreachableError`` (503), not "no features"."""
        started = time.perf_counter()
        request_id = _request_id()
        models = self._worker.models.current.answering(symbol, timeframe)
        now = datetime.now(UTC)
        answers = []
        for model in models.roles:
            bar = self._worker.features.get(symbol, timeframe, model.predictor.feature_version)
            ensure_fresh(symbol, timeframe, bar.as_of, now, self._settings.serving_max_age_bars)
            answers.append(
                self._answer(
                    "signal",
                    self._latest_scores.score,
                    request_id,
                    model,
                    symbol,
                    bar.features,
                    bar.window_start,
                    bar.reference_price,
                    started,
                    now,
                )
            )
        return self._log(answers, client)

    def predict_batch(self, rows: Sequence[FeatureRowIn]) -> list[BatchPrediction]:
        """Champion probabilities for precomputed feature rows; a row the model cannot score gets its
        ``error`` instead, so one bad row never fails the other requests batched with it."""
        served = self._worker.models.current
        results: list[BatchPrediction | None] = [None] * len(rows)
        groups: dict[tuple[str, str], list[int]] = {}
        for position, row in enumerate(rows):
            groups.setdefault((row.symbol, row.timeframe), []).append(position)
        for (symbol, timeframe), positions in groups.items():
            models = served.get(symbol, timeframe)
            if models is None:
                for position in positions:
                    results[position] = BatchPrediction(error=served.unknown(symbol, timeframe))
                continue
            model = models.champion
            columns = model.predictor.feature_columns
            scorable = []
            for position in positions:
                missing = [c for c in columns if c not in rows[position].features]
                if missing:
                    results[position] = BatchPrediction(error=f"features: missing {', '.join(missing)}")
                else:
                    scorable.append(position)
            if not scorable:
                continue
            matrix = np.array(
                [[_float(rows[p].features[c]) for c in columns] for p in scorable], dtype=np.float64
            )
            probabilities = model.predictor.predict_proba(pd.DataFrame(matrix, columns=list(columns)))
            for position, probability in zip(scorable, probabilities, strict=True):
                value = float(probability)
                called = decisions.call(value, model.rule.abstain)
                results[position] = BatchPrediction(probability_up=value, direction=called, model=model.ref)
                metrics.observe("predict_batch", called, "champion", model.ref.version, None)
        return [result for result in results if result is not None]

    def _answer(
        self,
        endpoint: str,
        scorer: Scorer,
        request_id: str,
        model: ServedModel,
        symbol: str,
        features: pd.DataFrame,
        window_start: datetime,
        reference_price: Decimal,
        started: float,
        now: datetime,
    ) -> _Answered:
        as_of = pd.Timestamp(features.index[-1]).to_pydatetime()
        probability, volatility = scorer(model, features)
        elapsed = time.perf_counter() - started
        answer = prediction(
            model,
            request_id=request_id,
            symbol=symbol,
            as_of=as_of,
            probability_up=probability,
            volatility=volatility,
            reference_price=reference_price,
            latency_ms=elapsed * 1000.0,
            now=now,
        )
        metrics.observe(endpoint, answer.direction, model.role, answer.model.version, elapsed)
        return _Answered(model, answer, window_start)

    def _log(self, answers: list[_Answered], client: str) -> Prediction:
        """Queue every model's answer for the prediction log, attributed to the client's key id; the
        champion's (the first) is returned."""
        now = datetime.now(UTC)
        for one in answers:
            row = prediction_row(
                one.answer, role=one.model.role, window_start=one.window_start, created_at=now, client=client
            )
            self._writer.submit(row)
        return answers[0].answer


def _request_id() -> str:
    """128 random bits as 32 hex digits, like ``uuid4().hex`` without its ``os.urandom`` system call on
    the hot path; ``random`` reseeds in every forked worker, so workers never share a sequence."""
    return f"{random.getrandbits(128):032x}"


def _float(value: float | None) -> float:
    return math.nan if value is None else value
