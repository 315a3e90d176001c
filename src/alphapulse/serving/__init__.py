"""Serving: the BentoML service's logic (``bentos/service.py`` is a thin wrapper over this package)."""

from alphapulse.serving.access import Access
from alphapulse.serving.admission import CONTAINER_ADMISSION_FILE, admitted
from alphapulse.serving.bento import build_bento, export_bento, import_bento, publish_bento
from alphapulse.serving.bundle import (
    ServedModel,
    bento_model_name,
    load_bundle,
    write_bundle,
)
from alphapulse.serving.config import RECYCLE_EVERY, SERVICE_CONFIG, respawn_crashed_workers
from alphapulse.serving.errors import OneShape, batch_errors, quiet_client_errors
from alphapulse.serving.errors import install as install_error_handlers
from alphapulse.serving.freshness import StaleBarError
from alphapulse.serving.inputs import InputError
from alphapulse.serving.middleware import JsonOnly, RecycleConnections
from alphapulse.serving.models import InstrumentModels, ModelSet
from alphapulse.serving.openapi import document as openapi_document
from alphapulse.serving.runtime import ServingRuntime
from alphapulse.serving.schemas import (
    BatchPrediction,
    CandleIn,
    FeatureRowIn,
    HeadlineIn,
    ModelRef,
    ModelSetInfo,
    PerformanceInfo,
    Prediction,
    PredictRequest,
    SentimentComparison,
    SentimentRequest,
    ServedModelInfo,
    SignalRequest,
    Symbol,
    Timeframe,
)
from alphapulse.serving.serve import serve_command
from alphapulse.serving.signals import NoFeaturesError, StoreUnreachableError

__all__ = [
    "CONTAINER_ADMISSION_FILE",
    "RECYCLE_EVERY",
    "SERVICE_CONFIG",
    "Access",
    "BatchPrediction",
    "CandleIn",
    "FeatureRowIn",
    "HeadlineIn",
    "InputError",
    "InstrumentModels",
    "JsonOnly",
    "ModelRef",
    "ModelSet",
    "ModelSetInfo",
    "NoFeaturesError",
    "OneShape",
    "PerformanceInfo",
    "PredictRequest",
    "Prediction",
    "RecycleConnections",
    "SentimentComparison",
    "SentimentRequest",
    "ServedModel",
    "ServedModelInfo",
    "ServingRuntime",
    "SignalRequest",
    "StaleBarError",
    "StoreUnreachableError",
    "Symbol",
    "Timeframe",
    "admitted",
    "batch_errors",
    "bento_model_name",
    "build_bento",
    "export_bento",
    "import_bento",
    "install_error_handlers",
    "load_bundle",
    "openapi_document",
    "publish_bento",
    "quiet_client_errors",
    "respawn_crashed_workers",
    "serve_command",
    "write_bundle",
]
