"""Models in the BentoML store: ``export_model`` copies an MLflow alias in, ``load_bundle`` reads it back.

The service never talks to MLflow: a Bento must carry its model, and a model server should not depend
on the tracking server being up. A bundle holds what ``Predictor`` needs (the native estimator,
pickled, which keeps XGBoost/CatBoost/scikit-learn models exact; the feature columns; the feature-set
version) plus the feature config that produced the training features, so serving recomputes features
with exactly the training definition. The champion and the challenger are separate BentoML model names,
and ``:latest`` of each is the one to serve: exporting an MLflow version again (a rollback) re-creates
its BentoML version so it becomes ``:latest`` again.
"""

from __future__ import annotations

import contextlib
import pickle
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import bentoml
from bentoml.exceptions import NotFound

from alphapulse.features import FeatureConfig, feature_set_version, load_config
from alphapulse.serving.schemas import LoadedModel, ModelRef, Role
from alphapulse.settings import Settings, get_settings
from alphapulse.training.predictor import Predictor

MODEL_FILE = "model.pkl"
CONFIG_FILE = "feature_config.json"
#: Bumped when the bundle layout changes, so an old service refuses a bundle it cannot read.
BUNDLE_FORMAT = "alphapulse-predictor-1"


def bento_model_name(registered: str, role: Role) -> str:
    return registered if role == "champion" else f"{registered}-{role}"


@dataclass(frozen=True)
class ServedModel:
    """A loaded bundle: the predictor, the feature config it expects, and where it came from."""

    predictor: Predictor
    config: FeatureConfig
    symbol: str
    timeframe: str
    role: Role
    tag: str
    labels: dict[str, str]
    loaded_at: datetime
    #: How long reading it from the store took (for the service's metrics).
    load_seconds: float = 0.0

    @property
    def ref(self) -> ModelRef:
        return ModelRef(
            name=self.labels["registered_model"],
            version=self.labels["mlflow_version"],
            feature_set=self.predictor.feature_version,
        )

    def describe(self) -> LoadedModel:
        return LoadedModel(
            symbol=self.symbol,
            timeframe=self.timeframe,
            role=self.role,
            bento_tag=self.tag,
            registered_model=self.labels["registered_model"],
            mlflow_version=self.labels["mlflow_version"],
            feature_set=self.predictor.feature_version,
            family=self.predictor.family,
            data_start=self.labels.get("data_start", ""),
            data_end=self.labels.get("data_end", ""),
            loaded_at=self.loaded_at,
        )


def store_of(settings: Settings) -> Any:
    """The BentoML model store under ``settings.bentoml_home`` (explicit, so it never depends on when
    BentoML first read ``BENTOML_HOME`` in this process)."""
    from bentoml._internal.models import ModelStore

    path = settings.bentoml_home / "models"
    path.mkdir(parents=True, exist_ok=True)
    return ModelStore(path)


def export_model(
    symbol: str, timeframe: str, *, role: Role = "champion", settings: Settings | None = None
) -> bentoml.Tag:
    """Import the MLflow version behind ``role`` into the BentoML store as ``<name>:v<version>``."""
    from alphapulse.training.registry import by_alias, load_version, registered_name
    from alphapulse.training.tracking import client

    settings = settings or get_settings()
    mlflow_client = client(settings)
    registered = registered_name(symbol, timeframe)
    info = by_alias(mlflow_client, registered, role)
    if info is None:
        raise LookupError(f"{registered}: no {role} in MLflow to export")
    config = load_config()
    if config.timeframe != timeframe:
        raise ValueError(f"timeframe: the feature set is built for {config.timeframe!r}, not {timeframe!r}")
    if feature_set_version(config) != info.feature_version:
        raise ValueError(
            f"{registered} v{info.version} was trained on feature set {info.feature_version}, but this "
            f"installation builds {feature_set_version(config)}; retrain or install the matching release"
        )
    predictor = load_version(mlflow_client, registered, info)
    store = store_of(settings)
    tag = bentoml.Tag(bento_model_name(registered, role), f"v{info.version}")
    with contextlib.suppress(NotFound):
        bentoml.models.delete(tag, _model_store=store)
    labels = {
        "registered_model": registered,
        "mlflow_version": info.version,
        "feature_set": info.feature_version,
        "data_start": info.data_start,
        "data_end": info.data_end,
        "family": info.family,
        "role": role,
        "symbol": symbol,
        "timeframe": timeframe,
    }
    metadata = {"format": BUNDLE_FORMAT, "feature_columns": list(predictor.feature_columns)}
    with bentoml.models.create(tag, labels=labels, metadata=metadata, _model_store=store) as model:
        with open(model.path_of(MODEL_FILE), "wb") as handle:
            pickle.dump(predictor.model, handle, protocol=pickle.HIGHEST_PROTOCOL)
        with open(model.path_of(CONFIG_FILE), "w", encoding="utf-8") as handle:
            handle.write(config.canonical_json())
    return model.tag


def export_champion(symbol: str, timeframe: str, settings: Settings | None = None) -> bentoml.Tag:
    """``alphapulse model export``: the champion into the store, ready for ``bentoml serve`` and build."""
    return export_model(symbol, timeframe, role="champion", settings=settings)


def load_bundle(registered: str, role: Role) -> ServedModel | None:
    """The latest bundle of ``role`` from the process's BentoML store (a Bento's own when in one)."""
    started = time.perf_counter()
    try:
        model = bentoml.models.get(f"{bento_model_name(registered, role)}:latest")
    except NotFound:
        return None
    info = model.info
    if info.metadata.get("format") != BUNDLE_FORMAT:
        raise ValueError(f"{model.tag}: not an AlphaPulse bundle ({info.metadata.get('format')!r})")
    labels = {str(k): str(v) for k, v in info.labels.items()}
    with open(model.path_of(CONFIG_FILE), encoding="utf-8") as handle:
        config = FeatureConfig.model_validate_json(handle.read())
    if feature_set_version(config) != labels["feature_set"]:
        raise ValueError(
            f"{model.tag}: its feature set {labels['feature_set']} cannot be rebuilt here "
            f"(this environment computes {feature_set_version(config)}: another pandas-ta or AlphaPulse?)"
        )
    with open(model.path_of(MODEL_FILE), "rb") as handle:
        native = pickle.load(handle)  # noqa: S301 - our own store, written by export_model
    _single_threaded(native)
    columns = info.metadata["feature_columns"]
    assert isinstance(columns, list)
    predictor = Predictor(labels["family"], native, tuple(str(c) for c in columns), labels["feature_set"])
    return ServedModel(
        predictor=predictor,
        config=config,
        symbol=labels["symbol"],
        timeframe=labels["timeframe"],
        role=role,
        tag=str(model.tag),
        labels=labels,
        loaded_at=datetime.now(UTC),
        load_seconds=time.perf_counter() - started,
    )


def _single_threaded(native: Any) -> None:
    """One row per call: a thread pool per prediction only adds wake-up latency and fights the server's
    own concurrency for the cores (XGBoost's per-row sums do not depend on the thread count)."""
    get_params = getattr(native, "get_params", None)
    if get_params is not None and "n_jobs" in get_params(deep=False):
        native.set_params(n_jobs=1)
