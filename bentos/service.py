"""The AlphaPulse BentoML service: HTTP onto ``alphapulse.serving.ServingRuntime``, nothing more.

Run with ``alphapulse serve`` (or ``bentoml serve bentos.service:AlphaPulse``); build with
``alphapulse model bento``. Endpoint semantics and the wire format are in docs/SERVING.md; who may call
what, and how often, is ``alphapulse.serving.access`` (keys, scopes, limits, body caps).
"""

from __future__ import annotations

from functools import cache
from http import HTTPStatus
from typing import Any

import bentoml
from bentoml import get_current_service
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import ConfigDict
from starlette.middleware.cors import CORSMiddleware

from alphapulse.serving import (
    RECYCLE_EVERY,
    SERVICE_CONFIG,
    Access,
    BatchPrediction,
    FeatureRowIn,
    JsonOnly,
    ModelSetInfo,
    OneShape,
    PerformanceInfo,
    Prediction,
    PredictRequest,
    RecycleConnections,
    SentimentComparison,
    SentimentRequest,
    ServingRuntime,
    SignalRequest,
    admitted,
    batch_errors,
    install_error_handlers,
    openapi_document,
    quiet_client_errors,
    respawn_crashed_workers,
)
from alphapulse.settings import get_settings

respawn_crashed_workers()
quiet_client_errors()

#: The API's routes; BentoML serves them beside its batching endpoint and probes.
api = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
install_error_handlers(api)


class BatchRequest(bentoml.IODescriptor):
    """``POST /predict_batch``'s body; unknown fields are refused like everywhere else."""

    model_config = ConfigDict(extra="forbid")
    rows: list[FeatureRowIn]


@bentoml.asgi_app(api, path="/")
@bentoml.service(name="alphapulse", **SERVICE_CONFIG)
class AlphaPulse:
    def __init__(self) -> None:
        bento = AlphaPulse.bento
        self.runtime = ServingRuntime(get_settings(), bento=None if bento is None else str(bento.tag))

    async def __is_ready__(self) -> bool:
        """Async, so BentoML calls it on the event loop: no thread hop, and it only reads a flag."""
        return self.runtime.ready

    @bentoml.on_shutdown
    def shutdown(self) -> None:
        self.runtime.close()

    @bentoml.api(
        route="/predict_batch",
        input_spec=BatchRequest,
        batchable=True,
        max_batch_size=1000,
        max_latency_ms=1000,
    )
    def predict_batch(self, rows: list[FeatureRowIn]) -> list[BatchPrediction]:
        """Precomputed feature rows, batched across requests into one model call per instrument (scope
        `predict`); a row that cannot be scored gets its `error` instead of failing the batch."""
        with batch_errors():
            return self.runtime.predict_batch(rows)


def _runtime() -> ServingRuntime:
    """This worker's runtime. The routes of ``api`` are plain functions, not methods: BentoML resolves a
    ``self`` parameter through a synchronous FastAPI dependency, a thread-pool round trip per request."""
    service: AlphaPulse = get_current_service()
    return service.runtime


def _client(request: Request) -> str:
    """The id of the key the access gate admitted the request with."""
    return str(request.state.client)


@api.post(
    "/signal",
    responses={
        HTTPStatus.NOT_FOUND.value: {"description": "No precomputed features for the instrument yet."},
        HTTPStatus.UNPROCESSABLE_ENTITY.value: {"description": "No model serves the symbol or timeframe."},
        HTTPStatus.SERVICE_UNAVAILABLE.value: {
            "description": "error 'stale': the latest bar closed longer ago than "
            "ALPHAPULSE_SERVING_MAX_AGE_BARS bars of its timeframe (default 2): ingestion or the feature "
            "build has stopped; `detail` gives the bar's open and close times, its age and the maximum age. "
            "error 'store_unreachable': this worker has not read the instrument's features because the "
            "database has not answered since it loaded the model; retry."
        },
    },
)
async def signal(body: SignalRequest, request: Request) -> Prediction:
    """The champion's answer for the latest closed bar, from the features the pipeline precomputed: a
    lookup and, once per new bar, one model call (scope `signal`)."""
    return _runtime().signal(body.symbol, body.timeframe, client=_client(request))


@api.post(
    "/predict",
    responses={
        HTTPStatus.UNPROCESSABLE_ENTITY.value: {
            "description": "A well-formed request the model cannot answer: unknown instrument, unsorted or "
            "duplicate candles, a bar not closed yet, bars that neither join the stored history nor reach "
            "back to the last bar's anchor (field and reason given)."
        },
    },
)
def predict(body: PredictRequest, request: Request) -> Prediction:
    """The champion's answer for the last bar sent: the client's latest bars, completed from the
    service's stored history, through the same feature builder as training (scope `predict`)."""
    return _runtime().predict(
        body.symbol, body.timeframe, body.candles, body.headlines, client=_client(request)
    )


@api.post("/sentiment")
def sentiment(body: SentimentRequest) -> SentimentComparison:
    """Each headline read by every scorer in ALPHAPULSE_SERVING_SENTIMENT_SCORERS, side by side, with how
    far they agree; the models' features keep the one scorer their feature set names (scope
    `sentiment`)."""
    return _runtime().sentiment(body.headlines)


@api.get("/models/status")
def models_status() -> ModelSetInfo:
    """What this worker serves: every model's version, feature set and load time, and the Bento it runs
    (scope `models`)."""
    return _runtime().status()


@api.get("/models/performance")
def models_performance() -> PerformanceInfo:
    """Live accuracy per served model version on resolved bars (one answer per bar), with the number of
    bars and a Wilson 95% interval (scope `models`)."""
    return _runtime().performance()


@api.post("/admin/reload")
def reload() -> ModelSetInfo:
    """Swap in the store's latest champion (and challenger) here now and on every other worker within a
    second (scope `admin`)."""
    return _runtime().admin_reload()


@api.get(
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


@cache
def _document() -> dict[str, Any]:
    return openapi_document(AlphaPulse.openapi_spec.asdict())


@api.get("/docs.json", include_in_schema=False)
async def docs_json() -> JSONResponse:
    return JSONResponse(_document())


@api.get("/docs", include_in_schema=False)
async def docs() -> HTMLResponse:
    return get_swagger_ui_html(openapi_url="/docs.json", title="AlphaPulse signals API")


_settings = get_settings()
AlphaPulse.add_asgi_middleware(OneShape)
AlphaPulse.add_asgi_middleware(RecycleConnections, every=RECYCLE_EVERY)
if _settings.serving_cors_origins:
    AlphaPulse.add_asgi_middleware(
        CORSMiddleware,
        allow_origins=_settings.serving_cors_origins,
        allow_methods=["GET", "POST"],
        allow_headers=["X-API-Key", "Authorization", "Content-Type"],
        max_age=600,
    )
AlphaPulse.add_asgi_middleware(Access, settings=_settings)
AlphaPulse.add_asgi_middleware(JsonOnly)
