"""Where MLflow lives for this process: the settings' tracking URI, and one experiment per model name
whose artifacts go under the settings' artifact root (set explicitly: the server default may not exist)."""

from __future__ import annotations

from pathlib import Path

import mlflow
from mlflow.tracking import MlflowClient

from alphapulse.settings import Settings, get_settings, is_uri


def client(settings: Settings | None = None) -> MlflowClient:
    """Point MLflow (fluent API and registry) at the configured store and return a client for it."""
    settings = settings or get_settings()
    settings.ensure_dirs()
    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    mlflow.set_registry_uri(settings.mlflow_tracking_uri)
    return MlflowClient(tracking_uri=settings.mlflow_tracking_uri, registry_uri=settings.mlflow_tracking_uri)


def artifact_location(settings: Settings, name: str) -> str:
    """``<artifact root>/<name>``; a local root becomes a file:// URI, any URI (``s3://``, the tracking
    server's proxied ``mlflow-artifacts:/``) is kept."""
    root = settings.mlflow_artifact_root
    base = root.rstrip("/") if is_uri(root) else Path(root).resolve().as_uri()
    return f"{base}/{name}"


def experiment_id(mlflow_client: MlflowClient, name: str, settings: Settings | None = None) -> str:
    experiment = mlflow_client.get_experiment_by_name(name)
    if experiment is not None:
        return str(experiment.experiment_id)
    location = artifact_location(settings or get_settings(), name)
    return str(mlflow_client.create_experiment(name, artifact_location=location))
