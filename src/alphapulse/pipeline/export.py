"""The export and deploy use case: registry versions into the BentoML model store, a versioned Bento of
the service with them, its copy in the artifact store, and the deployer asked to serve it.

This is the one place that reads MLflow for serving: a Bento carries its models, so the service never
talks to the tracking server (``serving.bundle`` reads the store this writes).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from alphapulse.features import feature_set_version
from alphapulse.pipeline.instrument import Instrument
from alphapulse.rollout import DeployerClient, Operation
from alphapulse.serving.bento import build_bento, publish_bento
from alphapulse.serving.bundle import DECISION_RULE_LABEL, bento_model_name, write_bundle
from alphapulse.serving.schemas import Role
from alphapulse.settings import Settings
from alphapulse.training.registry import by_alias, feature_config_of, load_version, registered_name
from alphapulse.training.tracking import client


def export_model(settings: Settings, instrument: Instrument, *, role: Role = "champion") -> str:
    """Import the MLflow version behind ``role`` into the BentoML store as ``<name>:v<version>``, with the
    feature config recorded on that version (the one its training built the matrix with)."""
    symbol, timeframe = instrument.symbol, instrument.timeframe
    mlflow_client = client(settings)
    registered = registered_name(symbol, timeframe)
    info = by_alias(mlflow_client, registered, role)
    if info is None:
        raise LookupError(f"{registered}: no {role} in MLflow to export")
    config = feature_config_of(info, timeframe)
    if feature_set_version(config) != info.feature_version:
        raise ValueError(
            f"{registered} v{info.version} was trained on feature set {info.feature_version}, but this "
            f"installation builds {feature_set_version(config)}; retrain or install the matching release"
        )
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
        DECISION_RULE_LABEL: info.rule.model_dump_json(),
    }
    tag = write_bundle(
        settings,
        f"{bento_model_name(registered, role)}:v{info.version}",
        load_version(mlflow_client, registered, info),
        config,
        labels,
    )
    return str(tag)


def export_models(settings: Settings, instrument: Instrument) -> list[str]:
    """The registry's champion, and its challenger when it has one, into the BentoML model store."""
    tags = [export_model(settings, instrument, role="champion")]
    with contextlib.suppress(LookupError):  # no challenger in the registry: the champion serves alone
        tags.append(export_model(settings, instrument, role="challenger"))
    return tags


@dataclass(frozen=True)
class BentoRelease:
    tag: str
    #: Where the Bento was exported to (``settings.bento_exports_uri``), None without an artifact store.
    exported_to: str | None


def build_release(
    settings: Settings,
    symbols: list[str] | None = None,
    *,
    timeframe: str | None = None,
    lock: Path | None = None,
) -> BentoRelease:
    """The Bento of the service and the exported models of ``symbols`` (default: the configured ones),
    published when configured."""
    tag = build_bento(symbols, timeframe, settings=settings, lock=lock)
    return BentoRelease(tag=tag, exported_to=publish_bento(tag, settings=settings))


@dataclass(frozen=True)
class ExportRun:
    """What one export did for several symbols: the export flow's result."""

    #: The champion's tag in the BentoML store per symbol, None where the gate has not crowned one yet.
    exported: list[str | None]
    bento: BentoRelease | None
    rollout: Operation | None


def roll_out(settings: Settings, tag: str) -> Operation:
    """Ask the deployer to serve ``tag``; it raises when the deployer kept the old Bento."""
    return DeployerClient.from_settings(settings).rollout(tag)
