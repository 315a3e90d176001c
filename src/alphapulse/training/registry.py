"""The model registry: one registered model per symbol and timeframe, ``champion``/``challenger`` aliases.

Version tags carry the recipe (family, params, feature columns and version), the fitted decision rule and
the data window, so the gate can refit the champion on any window and ``load_champion`` can rebuild the
exact ``Predictor`` (the gate writes them, with its decision, when it records a challenger). The
registered model's ``champion_history`` tag is the stack of earlier champions that ``rollback`` pops.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from sqlalchemy import Engine

from alphapulse.decisions import FittedRule
from alphapulse.events import MODEL_PROMOTED, emit
from alphapulse.features import FeatureConfig, current_config, load_config
from alphapulse.settings import Settings
from alphapulse.training.models import NativeClassifier, get_family
from alphapulse.training.predictor import Predictor
from alphapulse.training.tracking import client

CHAMPION = "champion"
CHALLENGER = "challenger"
HISTORY_TAG = "champion_history"
#: The version's fitted decision rule (``alphapulse.decisions.FittedRule`` as JSON).
DECISION_RULE_TAG = "decision_rule"


def registered_name(symbol: str, timeframe: str) -> str:
    """``BTC/USDT`` on ``1h`` -> ``alphapulse-btc-usdt-1h``."""
    slug = re.sub(r"[^a-z0-9]+", "-", symbol.lower()).strip("-")
    return f"alphapulse-{slug}-{timeframe}"


@dataclass(frozen=True)
class VersionInfo:
    version: str
    aliases: tuple[str, ...]
    family: str
    params: dict[str, Any]
    feature_columns: tuple[str, ...]
    feature_version: str
    #: The feature config the version was trained with (canonical JSON); empty on versions registered
    #: before it was recorded.
    feature_config: str
    fingerprint: str
    data_start: str
    data_end: str
    accuracy: float
    gate: str
    reason: str
    created: datetime
    run_id: str
    #: How it turns probabilities into calls; the default on versions registered before rules existed.
    rule: FittedRule = field(default_factory=FittedRule)


def _info(version: Any, aliases: tuple[str, ...]) -> VersionInfo:
    tags = version.tags
    return VersionInfo(
        version=str(version.version),
        aliases=aliases,
        family=tags.get("family", "?"),
        params=json.loads(tags.get("params", "{}")),
        feature_columns=tuple(json.loads(tags.get("feature_columns", "[]"))),
        feature_version=tags.get("feature_version", ""),
        feature_config=tags.get("feature_config", ""),
        fingerprint=tags.get("fingerprint", ""),
        data_start=tags.get("data_start", ""),
        data_end=tags.get("data_end", ""),
        accuracy=float(tags.get("latest_window_accuracy", "nan")),
        gate=tags.get("gate", ""),
        reason=tags.get("gate_reason", ""),
        created=datetime.fromtimestamp(version.creation_timestamp / 1000, tz=UTC),
        run_id=str(version.run_id),
        rule=FittedRule.model_validate_json(tags.get(DECISION_RULE_TAG, "{}")),
    )


def by_alias(mlflow_client: MlflowClient, name: str, alias: str) -> VersionInfo | None:
    try:
        found = mlflow_client.get_model_version_by_alias(name, alias)
    except MlflowException:
        return None
    return _info(found, tuple(found.aliases))


def versions(mlflow_client: MlflowClient, name: str) -> list[VersionInfo]:
    """Every version, newest first (aliases read from the registered model: searches do not carry them)."""
    aliases: dict[str, list[str]] = {}
    for alias, version in mlflow_client.get_registered_model(name).aliases.items():
        aliases.setdefault(str(version), []).append(alias)
    found = mlflow_client.search_model_versions(f"name = '{name}'")
    infos = (_info(v, tuple(sorted(aliases.get(str(v.version), [])))) for v in found)
    return sorted(infos, key=lambda info: int(info.version), reverse=True)


def register(mlflow_client: MlflowClient, name: str, model_uri: str, tags: dict[str, str]) -> str:
    """A new version of ``name`` from a logged model, with its recipe tags."""
    return str(mlflow.register_model(model_uri, name, tags=tags).version)


def _history(mlflow_client: MlflowClient, name: str) -> list[str]:
    tags = mlflow_client.get_registered_model(name).tags
    return list(json.loads(tags.get(HISTORY_TAG, "[]")))


@dataclass(frozen=True)
class AliasChange:
    name: str
    previous: str | None
    current: str
    message: str


def make_champion(mlflow_client: MlflowClient, name: str, version: str) -> AliasChange:
    """Point ``champion`` at ``version``; the outgoing champion goes on the rollback stack."""
    previous = by_alias(mlflow_client, name, CHAMPION)
    if previous is not None and previous.version == version:
        return AliasChange(name, version, version, f"{name}: version {version} is already the champion")
    if previous is not None:
        stack = [*_history(mlflow_client, name), previous.version]
        mlflow_client.set_registered_model_tag(name, HISTORY_TAG, json.dumps(stack))
    mlflow_client.set_registered_model_alias(name, CHAMPION, version)
    current = by_alias(mlflow_client, name, CHALLENGER)
    if current is not None and current.version == version:
        mlflow_client.delete_registered_model_alias(name, CHALLENGER)
    was = previous.version if previous else None
    return AliasChange(name, was, version, f"{name}: champion is now version {version} (was {was or 'none'})")


def promote(
    symbol: str, timeframe: str, *, version: str | None = None, settings: Settings | None = None
) -> AliasChange:
    """Make ``version`` (default: the current challenger) the champion, overriding the gate by hand."""
    mlflow_client = client(settings)
    name = registered_name(symbol, timeframe)
    if version is None:
        challenger = by_alias(mlflow_client, name, CHALLENGER)
        if challenger is None:
            raise LookupError(f"{name}: there is no challenger to promote; pass a version")
        version = challenger.version
    mlflow_client.get_model_version(name, version)
    change = make_champion(mlflow_client, name, version)
    mlflow_client.set_model_version_tag(name, version, "promoted_by", "manual")
    return _announce(change, "manual")


def rollback(symbol: str, timeframe: str, *, settings: Settings | None = None) -> AliasChange:
    """Restore the champion before the current one, in one step; repeated calls walk further back."""
    mlflow_client = client(settings)
    name = registered_name(symbol, timeframe)
    stack = _history(mlflow_client, name)
    if not stack:
        raise LookupError(f"{name}: no earlier champion to roll back to")
    current = by_alias(mlflow_client, name, CHAMPION)
    restored = stack.pop()
    mlflow_client.set_registered_model_tag(name, HISTORY_TAG, json.dumps(stack))
    mlflow_client.set_registered_model_alias(name, CHAMPION, restored)
    if current is not None:
        mlflow_client.set_model_version_tag(
            name, current.version, "rolled_back_at", datetime.now(UTC).isoformat()
        )
    was = current.version if current else None
    change = AliasChange(
        name, was, restored, f"{name}: rolled back, champion is version {restored} (was {was})"
    )
    return _announce(change, "rollback")


def _announce(change: AliasChange, how: str) -> AliasChange:
    """A champion changed by hand starts the same export and rollout as one crowned by the gate."""
    if change.previous != change.current:
        emit(
            MODEL_PROMOTED,
            model_name=change.name,
            payload={"version": change.current, "previous": change.previous, "how": how},
        )
    return change


def list_versions(symbol: str, timeframe: str, *, settings: Settings | None = None) -> list[VersionInfo]:
    mlflow_client = client(settings)
    name = registered_name(symbol, timeframe)
    try:
        mlflow_client.get_registered_model(name)
    except MlflowException as error:
        if error.error_code == "RESOURCE_DOES_NOT_EXIST":
            return []
        raise  # an unreachable or broken tracking store is not "no versions"
    return versions(mlflow_client, name)


def feature_config_of(info: VersionInfo, timeframe: str) -> FeatureConfig:
    """The feature config ``info`` was trained with: what serving computes and monitoring compares for it.
    Versions registered before the config was recorded were all trained with the shipped one."""
    if info.feature_config:
        return FeatureConfig.model_validate_json(info.feature_config)
    return load_config(timeframe=timeframe)


def model_feature_config(
    engine: Engine, info: VersionInfo | None, symbol: str, timeframe: str
) -> FeatureConfig:
    """The config a model's features are computed with for monitoring: the one it was trained with, or,
    with no model yet, the one training would use now."""
    if info is None:
        return current_config(engine, symbol, timeframe)
    return feature_config_of(info, timeframe)


def load_version(mlflow_client: MlflowClient, name: str, info: VersionInfo) -> Predictor:
    flavor = get_family(info.family).mlflow_flavor()
    model: NativeClassifier = flavor.load_model(f"models:/{name}/{info.version}")
    return Predictor(info.family, model, info.feature_columns, info.feature_version)


def load_champion(symbol: str, timeframe: str, *, settings: Settings | None = None) -> Predictor:
    """The serving model: the champion's native estimator with its feature order and feature-set version."""
    mlflow_client = client(settings)
    name = registered_name(symbol, timeframe)
    info = by_alias(mlflow_client, name, CHAMPION)
    if info is None:
        raise LookupError(f"{name}: no champion yet (train, and let the gate or `model promote` pick one)")
    return load_version(mlflow_client, name, info)
