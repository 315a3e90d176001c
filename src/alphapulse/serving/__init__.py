"""Serving: the BentoML service's logic (``bentos/service.py`` is a thin wrapper over this package)."""

from alphapulse.serving.admin import UnauthorizedError
from alphapulse.serving.admission import CONTAINER_ADMISSION_FILE, admitted
from alphapulse.serving.bento import build_bento, export_bento, import_bento, publish_bento
from alphapulse.serving.bundle import (
    ServedModel,
    bento_model_name,
    load_bundle,
    write_bundle,
)
from alphapulse.serving.config import RECYCLE_EVERY, SERVICE_CONFIG, respawn_crashed_workers
from alphapulse.serving.errors import http_errors, route_errors
from alphapulse.serving.freshness import StaleBarError
from alphapulse.serving.inputs import InputError
from alphapulse.serving.middleware import JsonOnly, RecycleConnections
from alphapulse.serving.models import InstrumentModels, ModelSet
from alphapulse.serving.runtime import ServingRuntime
from alphapulse.serving.schemas import (
    BatchPrediction,
    CandleIn,
    FeatureRowIn,
    HeadlineIn,
    ModelRef,
    ModelSetInfo,
    Prediction,
    ServedModelInfo,
    SignalRequest,
    StaleSignal,
    Symbol,
    Timeframe,
    UnreachableSignal,
)
from alphapulse.serving.serve import serve_command
from alphapulse.serving.signals import NoFeaturesError, StoreUnreachableError

__all__ = [
    "CONTAINER_ADMISSION_FILE",
    "RECYCLE_EVERY",
    "SERVICE_CONFIG",
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
    "Prediction",
    "RecycleConnections",
    "ServedModel",
    "ServedModelInfo",
    "ServingRuntime",
    "SignalRequest",
    "StaleBarError",
    "StaleSignal",
    "StoreUnreachableError",
    "Symbol",
    "Timeframe",
    "UnauthorizedError",
    "UnreachableSignal",
    "admitted",
    "bento_model_name",
    "build_bento",
    "export_bento",
    "http_errors",
    "import_bento",
    "load_bundle",
    "publish_bento",
    "respawn_crashed_workers",
    "route_errors",
    "serve_command",
    "write_bundle",
]
