"""The AlphaPulse BentoML service: HTTP onto ``alphapulse.serving.ServingRuntime``, nothing more.

Run with ``alphapulse serve`` (or ``bentoml serve bentos.service:AlphaPulse``); build with
``alphapulse model bento``. Endpoint semantics and the wire format are in docs/SERVING.md.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated

import bentoml
from bentoml import get_current_service
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import Field

from alphapulse.serving import (
    RECYCLE_EVERY,
    SERVICE_CONFIG,
    BatchPrediction,
    CandleIn,
    FeatureRowIn,
    HeadlineIn,
    JsonOnly,
    ModelSetInfo,
    Prediction,
    RecycleConnections,
    ServingRuntime,
    SignalRequest,
    StaleSignal,
    Symbol,
    Timeframe,
    UnreachableSignal,
    admitted,
    http_errors,
    respawn_crashed_workers,
    route_errors,
)
from alphapulse.settings import get_settings

respawn_crashed_workers()

MAX_CANDLES = 20_000
MAX_HEADLINES = 20_000
#: BentoML endpoints are POST only; the read-only ones are GET routes of this app, mounted beside them.
reads = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)


@bentoml.asgi_app(reads, path="/")
@bentoml.service(name="alphapulse", **SERVICE_CONFIG)
class AlphaPulse:
    def __init__(self) -> None:
        self.runtime = ServingRuntime(get_settings())

    async def __is_ready__(self) -> bool:
        """Async, so BentoML calls it on the event loop: no thread hop, and it only reads a flag."""
        return self.runtime.ready

    @bentoml.on_shutdown
    def shutdown(self) -> None:
        self.runtime.close()

    @bentoml.api(route="/predict")
    def predict(
        self,
        symbol: Symbol,
        timeframe: Timeframe,
        candles: Annotated[list[CandleIn], Field(min_length=1, max_length=MAX_CANDLES)],
        headlines: Annotated[list[HeadlineIn], Field(max_length=MAX_HEADLINES)] | None = None,
    ) -> Prediction:
        """Features computed from the candles sent (ascending, reaching back to the last bar's anchor)."""
        with http_errors():
            return self.runtime.predict(symbol, timeframe, candles, headlines or [])

    @bentoml.api(route="/predict_batch", batchable=True, max_batch_size=1000, max_latency_ms=1000)
    def predict_batch(self, rows: list[FeatureRowIn]) -> list[BatchPrediction]:
        """Precomputed feature rows, batched across requests into one model call per instrument."""
        with http_errors():
            return self.runtime.predict_batch(rows)

    @bentoml.api(route="/admin/reload")
    def reload(self, ctx: bentoml.Context) -> ModelSetInfo:
        """Hot-swap to the store's latest champion (and challenger); needs the X-API-Key header."""
        with http_errors():
            return self.runtime.admin_reload(ctx.request.headers.get("x-api-key"))


def _runtime() -> ServingRuntime:
    """This worker's runtime. The routes of ``reads`` are plain functions, not methods: BentoML resolves a
    ``self`` parameter through a synchronous FastAPI dependency, a thread-pool round trip per request.
    (``get_current_service`` is imported once: ``bentoml.<name>`` is a lazy module lookup per call.)"""
    service: AlphaPulse = get_current_service()
    return service.runtime


@reads.post(
    "/signal",
    responses={
        HTTPStatus.SERVICE_UNAVAILABLE.value: {
            "model": StaleSignal | UnreachableSignal,
            "description": "error 'stale': the latest bar closed longer ago than "
            "ALPHAPULSE_SERVING_MAX_AGE_BARS bars of its timeframe (default 2): ingestion or the feature "
            "build has stopped. The body gives the reason, the bar's open and close times, its age and the "
            "maximum age. error 'store_unreachable': this worker has not read the instrument's features "
            "because the database has not answered since it loaded the model; retry.",
        },
        HTTPStatus.NOT_FOUND.value: {"description": "No precomputed features for the instrument yet."},
        HTTPStatus.UNPROCESSABLE_ENTITY.value: {"description": "No model serves the symbol or timeframe."},
    },
)
async def signal(request: SignalRequest) -> Prediction:
    """The latest closed bar, from the features the pipeline precomputed (the hot path: a plain route
    of the mounted app, so no per-request BentoML IO machinery; see docs/SERVING.md)."""
    with route_errors():
        return _runtime().signal(request.symbol, request.timeframe)


@reads.get(
    "/admitted",
    responses={
        HTTPStatus.SERVICE_UNAVAILABLE.value: {"description": "Withdrawn: Caddy sends no traffic here."}
    },
)
async def admission() -> JSONResponse:
    """Caddy's health check: 200 while the deployer admits this container to traffic (docs/DEPLOY.md)."""
    if admitted(get_settings()):
        return JSONResponse({"admitted": True})
    return JSONResponse({"admitted": False}, status_code=HTTPStatus.SERVICE_UNAVAILABLE.value)


@reads.get("/model")
async def model() -> ModelSetInfo:
    """The models this worker serves."""
    return _runtime().models()


AlphaPulse.add_asgi_middleware(JsonOnly)
AlphaPulse.add_asgi_middleware(RecycleConnections, every=RECYCLE_EVERY)
