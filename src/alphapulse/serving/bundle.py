"""Models in the BentoML store: ``write_bundle`` puts one in (``pipeline.export`` copies an MLflow version
with it), ``load_bundle`` reads it back.

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
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import bentoml
from bentoml.exceptions import NotFound

from alphapulse.decisions import FittedRule
from alphapulse.features import FeatureConfig, feature_set_version
from alphapulse.serving.schemas import ModelRef, Role, ServedModelInfo
from alphapulse.settings import Settings
from alphapulse.training.predictor import Predictor

MODEL_FILE = "model.pkl"
#: The label holding the version's fitted decision rule (JSON); bundles written before it decide by default.
DECISION_RULE_LABEL = "decision_rule"
CONFIG_FILE = "feature_config.json"
#: Bumped when the bundle layout changes, so an old service refuses a bundle it cannot read.
BUNDLE_FORMAT = "alphapulse-predictor-1"


def bento_model_name(registered: str, role: Role) -> str:
    return registered if role == "champion" else f"{registered}-{role}"


@dataclass(frozen=True)
class ServedModel:
    """One model this worker serves: a bundle loaded from the BentoML store, with the predictor, the
    feature config it expects, its role, and where it came from. ``describe`` is its wire form
    (``ServedModelInfo``), ``ref`` the short one an answer carries (``ModelRef``)."""

    predictor: Predictor
    config: FeatureConfig
    symbol: str
    timeframe: str
    role: Role
    tag: str
    labels: dict[str, str]
    loaded_at: datetime
    #: How its probabilities become calls and positions (the version's fitted decision rule).
    rule: FittedRule = field(default_factory=FittedRule)
    #: How long reading it from the store took (for the service's metrics).
    load_seconds: float = 0.0

    @property
    def ref(self) -> ModelRef:
        return ModelRef(
            name=self.labels["registered_model"],
            version=self.labels["mlflow_version"],
            feature_set=self.predictor.feature_version,
        )

    def describe(self) -> ServedModelInfo:
        return ServedModelInfo(
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


def write_bundle(
    settings: Settings,
    tag: str,
    predictor: Predictor,
    config: FeatureConfig,
    labels: dict[str, str],
) -> bentoml.Tag:
    """Write one bundle into the BentoML store under ``settings.bentoml_home`` (replacing ``tag`` if it is
    there, so a re-exported version becomes ``:latest`` again); ``load_bundle`` reads it back."""
    store = store_of(settings)
    with contextlib.suppress(NotFound):
        bentoml.models.delete(tag, _model_store=store)
    metadata = {"format": BUNDLE_FORMAT, "feature_columns": list(predictor.feature_columns)}
    with bentoml.models.create(tag, labels=labels, metadata=metadata, _model_store=store) as model:
        with open(model.path_of(MODEL_FILE), "wb") as handle:
            pickle.dump(predictor.model, handle, protocol=pickle.HIGHEST_PROTOCOL)
        with open(model.path_of(CONFIG_FILE), "w", encoding="utf-8") as handle:
            handle.write(config.canonical_json())
    return model.tag


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
        native = pickle.load(handle)  # noqa: S301 - our own store, written by write_bundle
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
        rule=FittedRule.model_validate_json(labels.get(DECISION_RULE_LABEL, "{}")),
        load_seconds=time.perf_counter() - started,
    )


def _single_threaded(native: Any) -> None:
    """One row per call: a thread pool per prediction only adds wake-up latency and fights the server's
    own concurrency for the cores (XGBoost's per-row sums do not depend on the thread count)."""
    get_params = getattr(native, "get_params", None)
    if get_params is not None and "n_jobs" in get_params(deep=False):
        native.set_params(n_jobs=1)
