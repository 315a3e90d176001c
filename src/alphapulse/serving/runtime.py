"""Everything the service does, without the service: models, features, answers, logging, reloads.

``bentos/service.py`` only maps HTTP onto this class, so the behaviour is plain Python that tests and
benchmarks can hold. One instance lives in each server worker. Model swaps replace one immutable
mapping in a single assignment: a request that already picked its model finishes with it, the next one
sees the new model, and no request waits for a reload's loading (only for its one garbage collection,
see ``_settle_heap``). Constructing a runtime also tunes its process for serving: the GIL switch
interval and a frozen heap apply to the whole worker process.
"""

from __future__ import annotations

import gc
import logging
import math
import random
import secrets
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.exc import SQLAlchemyError

from alphapulse.features import FeatureConfig, build_online
from alphapulse.serving import metrics
from alphapulse.serving.answer import bar_volatility, direction, prediction
from alphapulse.serving.bundle import BUNDLE_FORMAT, ServedModel, load_bundle
from alphapulse.serving.freshness import ensure_fresh
from alphapulse.serving.health import StoreHealth
from alphapulse.serving.inputs import InputError, online_window
from alphapulse.serving.predlog import PredictionWriter
from alphapulse.serving.schemas import (
    BatchPrediction,
    CandleIn,
    FeatureRowIn,
    HeadlineIn,
    ModelsLoaded,
    Prediction,
)
from alphapulse.serving.signals import Key as InstrumentKey
from alphapulse.serving.signals import SignalCache
from alphapulse.settings import Settings
from alphapulse.store import make_engine

LOGGER = logging.getLogger(__name__)

#: How often each worker checks that the store answers (``SELECT 1``): how soon ``/readyz`` turns 503
#: when the database goes away, and how soon a worker is ready again once it is back.
STORE_CHECK_SECONDS = 1.0
#: Seconds a thread may hold the GIL while another waits (CPython's default is 5 ms). The prediction
#: writer converts hundreds of rows per batch in Python; at 5 ms every request arriving meanwhile waited
#: up to 5 ms for the GIL, about 1% of them at one client, so the p99 was the switch interval. At 1 ms
#: the p99 with one client is 2.6-3.8 ms instead of 5.5-10.7 ms, with no throughput lost at 32 clients.
GIL_SWITCH_INTERVAL = 0.001


class UnauthorizedError(PermissionError):
    """The admin key is missing or wrong (or no admin key is configured at all)."""


@dataclass(frozen=True)
class Served:
    champion: ServedModel
    challenger: ServedModel | None


Key = tuple[str, str]


class ServingRuntime:
    """One worker's serving state. Constructing it loads the models from the BentoML store and starts
    the thread that follows the database and reads the models' features; it waits for that thread's
    first pass only as long as a connect may take, so a worker starts (unready) while the database is
    down and becomes ready by itself once the database answers and the features are read."""

    def __init__(self, settings: Settings) -> None:
        sys.setswitchinterval(GIL_SWITCH_INTERVAL)
        self._settings = settings
        self._engine = make_engine(settings.database_url)
        self._signals = SignalCache(self._engine)
        #: (symbol, timeframe, role) -> (model tag, bar time, probability, volatility) of the latest bar.
        self._scores: dict[tuple[str, str, str], tuple[str, datetime, float, float | None]] = {}
        self._writer = PredictionWriter(self._engine)
        self._served: dict[Key, Served] = {}
        self._reload_lock = threading.Lock()
        self._marker = settings.home / "serving" / "reload-requested"
        self._marker_seen = _mtime(self._marker)
        self._store = StoreHealth(
            self._engine, grace=STORE_CHECK_SECONDS * 3 + settings.database_connect_timeout
        )
        self._stopping = threading.Event()
        self._first_pass = threading.Event()
        self._served = self._load_models()  # their features: the store thread's first pass
        metrics.models_served(_all(self._served), replaced=())
        _settle_heap()
        self._follower = threading.Thread(target=self._follow_store, name="serving-store", daemon=True)
        self._follower.start()
        self._first_pass.wait(settings.database_connect_timeout + STORE_CHECK_SECONDS)

    # -- lifecycle -------------------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        """Models loaded, each one's features read, and the store answering: cached states, so probes
        never wait on a database. (Without the features, a worker was ready between its first store check
        and its first read, and one the database left in between had nothing to answer ``/signal`` from.)"""
        served = self._served
        return bool(served) and self._store.reachable and self._signals.covers(_wanted(served))

    def close(self) -> None:
        self._stopping.set()
        self._follower.join(self._settings.database_connect_timeout + 5)
        self._writer.close()
        self._engine.dispose()

    def _follow_store(self) -> None:
        """Every ``STORE_CHECK_SECONDS``: follow reloads asked for through another worker, check the store,
        and re-read the precomputed features when due, and at once when the store is back after an outage
        or a served model's features have not been read yet (a reload while the store was down). Logs
        when the worker turns ready, the counterpart of the store's "not ready" line."""
        due = 0.0
        was_up = False
        was_ready = False
        while True:
            try:
                self._follow_reloads()
                up = self._store.check()
                unread = not self._signals.covers(_wanted(self._served))
                if up and (not was_up or unread or time.monotonic() >= due):
                    self.refresh_signals()
                    due = time.monotonic() + self._settings.serving_refresh_seconds
                was_up = up
            except SQLAlchemyError as error:
                self._store.mark_down(error)
                was_up = False
            except Exception:
                LOGGER.exception("serving refresh failed; keeping what is loaded")
            ready = self.ready
            if ready and not was_ready:
                served = len(self._served)
                LOGGER.warning("this worker is ready: %d instrument(s), their features read", served)
            was_ready = ready
            self._first_pass.set()
            if self._stopping.wait(STORE_CHECK_SECONDS):
                return

    def _follow_reloads(self) -> None:
        seen = _mtime(self._marker)
        if seen != self._marker_seen:
            self._marker_seen = seen
            self.reload_models()

    def reload_models(self) -> ModelsLoaded:
        """Load the store's latest bundles (what cannot be loaded keeps its current model) and read their
        features before serving them, so a model with a new feature set never meets a ``/signal`` before
        its features while the store answers. With the store down the models are swapped in all the same
        (they come from the BentoML store); their features are read once it answers, and ``/signal``
        says the store is unreachable meanwhile."""
        with self._reload_lock:
            served = self._load_models()
            try:
                self._refresh(served)
            except SQLAlchemyError as error:
                self._store.mark_down(error)
            loaded = {model.tag for model in _all(served)}
            metrics.models_served(_all(served), [m for m in _all(self._served) if m.tag not in loaded])
            self._served = served
            _settle_heap()
            return self.models()

    def _load_models(self) -> dict[Key, Served]:
        served: dict[Key, Served] = {}
        for registered in _registered_models():
            champion = load_bundle(registered, "champion")
            if champion is None:
                continue
            challenger = load_bundle(registered, "challenger") if self._settings.shadow_challenger else None
            served[(champion.symbol, champion.timeframe)] = Served(champion, challenger)
        return served

    def refresh_signals(self) -> None:
        self._refresh(self._served)

    def _refresh(self, served: dict[Key, Served]) -> None:
        wanted = _wanted(served)
        self._signals.refresh(wanted)
        for (symbol, timeframe, _version), bar in self._signals.read(wanted).items():
            metrics.signal_read(symbol, timeframe, bar.as_of, bar.stamp[1])

    def admin_reload(self, api_key: str | None) -> ModelsLoaded:
        """Reload this worker now and ask the other workers to follow (they poll a marker file)."""
        expected = self._settings.admin_api_key
        if expected is None or api_key is None:
            raise UnauthorizedError("admin key required")
        if not secrets.compare_digest(api_key.encode(), expected.get_secret_value().encode()):
            raise UnauthorizedError("admin key required")
        loaded = self.reload_models()
        self._marker.parent.mkdir(parents=True, exist_ok=True)
        self._marker.write_text(datetime.now(UTC).isoformat())
        self._marker_seen = _mtime(self._marker)
        return loaded

    def models(self) -> ModelsLoaded:
        described = []
        for models in self._served.values():
            described.append(models.champion.describe())
            if models.challenger is not None:
                described.append(models.challenger.describe())
        return ModelsLoaded(models=described, shadow=self._settings.shadow_challenger)

    # -- answers ---------------------------------------------------------------------------------

    def predict(
        self, symbol: str, timeframe: str, candles: Sequence[CandleIn], headlines: Sequence[HeadlineIn]
    ) -> Prediction:
        """Features from the client's candles (the same builder as training), then the champion."""
        started = time.perf_counter()
        request_id = _request_id()
        models = self._models_for(symbol, timeframe)
        computed: dict[str, tuple[pd.DataFrame, datetime]] = {}
        answers = []
        for model in _roles(models):
            version = model.predictor.feature_version
            if version not in computed:
                window = online_window(candles, headlines, model.config, datetime.now(UTC))
                features = build_online(window.candles, window.news, model.config)
                computed[version] = (features, window.window_start)
            features, window_start = computed[version]
            answers.append(
                self._answer(
                    "predict",
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
        return self._log(answers)

    def signal(self, symbol: str, timeframe: str) -> Prediction:
        """The latest closed bar from precomputed features: a lookup and one model call; a bar older
        than ``serving_max_age_bars`` is a :class:`StaleBarError` (503), never a silent old answer, and
        features this worker has not read are a ``StoreUnreachableError`` (503), not "no features"."""
        started = time.perf_counter()
        request_id = _request_id()
        models = self._models_for(symbol, timeframe)
        now = datetime.now(UTC)
        answers = []
        for model in _roles(models):
            bar = self._signals.get(symbol, timeframe, model.predictor.feature_version)
            ensure_fresh(symbol, timeframe, bar.as_of, now, self._settings.serving_max_age_bars)
            answers.append(
                self._answer(
                    "signal",
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
        return self._log(answers)

    def predict_batch(self, rows: Sequence[FeatureRowIn]) -> list[BatchPrediction]:
        """Champion probabilities for precomputed feature rows; a row the model cannot score gets its
        ``error`` instead, so one bad row never fails the other requests batched with it."""
        results: list[BatchPrediction | None] = [None] * len(rows)
        groups: dict[Key, list[int]] = {}
        for position, row in enumerate(rows):
            groups.setdefault((row.symbol, row.timeframe), []).append(position)
        for (symbol, timeframe), positions in groups.items():
            served = self._served.get((symbol, timeframe))
            if served is None:
                for position in positions:
                    results[position] = BatchPrediction(error=_unknown(symbol, timeframe, self._served))
                continue
            model = served.champion
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
                results[position] = BatchPrediction(
                    probability_up=value, direction=direction(value), model=model.ref
                )
                metrics.observe("predict_batch", direction(value), "champion", model.ref.version, None)
        return [result for result in results if result is not None]

    # -- internals -------------------------------------------------------------------------------

    def _models_for(self, symbol: str, timeframe: str) -> Served:
        served = self._served.get((symbol, timeframe))
        if served is None:
            field = "symbol" if all(s != symbol for s, _ in self._served) else "timeframe"
            raise InputError(field, _unknown(symbol, timeframe, self._served))
        return served

    def _answer(
        self,
        endpoint: str,
        request_id: str,
        model: ServedModel,
        symbol: str,
        features: pd.DataFrame,
        window_start: datetime,
        reference_price: Decimal,
        started: float,
        now: datetime,
    ) -> tuple[ServedModel, Prediction, datetime]:
        as_of = pd.Timestamp(features.index[-1]).to_pydatetime()
        probability, volatility = (
            self._latest_score(model, symbol, as_of, features)
            if endpoint == "signal"
            else _score(model, features)
        )
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
        return model, answer, window_start

    def _latest_score(
        self, model: ServedModel, symbol: str, as_of: datetime, features: pd.DataFrame
    ) -> tuple[float, float | None]:
        """The latest bar's score, computed once per bar and model: ``/signal`` answers the same closed bar
        to every caller until the next one lands, so repeating the model call would only cost latency."""
        key = (symbol, model.timeframe, model.role)
        cached = self._scores.get(key)
        if cached is not None and cached[0] == model.tag and cached[1] == as_of:
            return cached[2], cached[3]
        probability, volatility = _score(model, features)
        self._scores[key] = (model.tag, as_of, probability, volatility)
        return probability, volatility

    def _log(self, answers: list[tuple[ServedModel, Prediction, datetime]]) -> Prediction:
        now = datetime.now(UTC)
        for model, answer, window_start in answers:
            self._writer.submit(_log_row(model, answer, window_start, now))
        return answers[0][1]


def _settle_heap() -> None:
    """Take what is loaded now (modules, models) out of the cyclic garbage collector's walks.

    Once BentoML, pandas and a model are loaded, a full collection walks about 420,000 objects: 200 ms
    with the GIL held, every few thousand requests, which made the service's p99 under load. Frozen
    objects are still freed by reference counting; unfreezing first lets this collection reclaim the
    reference cycles of models a reload has just replaced, so reloads do not accumulate memory. That
    collection is the one full walk left: one pause of about 200 ms per reload in each worker.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def _score(model: ServedModel, features: pd.DataFrame) -> tuple[float, float | None]:
    probability = float(model.predictor.predict_proba(features)[0])
    if not math.isfinite(probability):
        raise InputError("candles", "the features of the last bar are undefined (gaps in the window?)")
    return probability, bar_volatility(features, model.config)


def _request_id() -> str:
    """128 random bits as 32 hex digits, like ``uuid4().hex`` without its ``os.urandom`` system call on
    the hot path; ``random`` reseeds in every forked worker, so workers never share a sequence."""
    return f"{random.getrandbits(128):032x}"


def _roles(models: Served) -> list[ServedModel]:
    return [models.champion] if models.challenger is None else [models.champion, models.challenger]


def _all(served: dict[Key, Served]) -> list[ServedModel]:
    return [model for models in served.values() for model in _roles(models)]


def _wanted(served: dict[Key, Served]) -> dict[InstrumentKey, FeatureConfig]:
    """The instruments whose features the served models answer ``/signal`` from, with their configs."""
    return {
        (model.symbol, model.timeframe, model.predictor.feature_version): model.config
        for models in served.values()
        for model in _roles(models)
    }


def _log_row(model: ServedModel, answer: Prediction, window_start: datetime, now: datetime) -> dict[str, Any]:
    return {
        "request_id": answer.request_id,
        "role": model.role,
        "symbol": answer.symbol,
        "timeframe": answer.timeframe,
        "as_of": answer.as_of,
        "window_start": window_start,
        "window_end": answer.as_of,
        "direction": answer.direction,
        "probability_up": answer.probability_up,
        "expected_return": answer.expected_return,
        "reference_price": answer.reference_price,
        "model_name": answer.model.name,
        "model_version": answer.model.version,
        "feature_set": answer.model.feature_set,
        "latency_ms": answer.latency_ms,
        "created_at": now,
    }


def _float(value: float | None) -> float:
    return math.nan if value is None else value


def _unknown(symbol: str, timeframe: str, served: dict[Key, Served]) -> str:
    known = ", ".join(f"{s} {t}" for s, t in sorted(served)) or "none"
    return f"no model serves {symbol} {timeframe} (served: {known})"


def _registered_models() -> list[str]:
    import bentoml

    names = set()
    for model in bentoml.models.list():
        if model.info.metadata.get("format") == BUNDLE_FORMAT and model.info.labels.get("role") == "champion":
            names.add(str(model.info.labels["registered_model"]))
    return sorted(names)


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return None
