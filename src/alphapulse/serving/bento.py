"""``alphapulse model bento``: a versioned Bento of the service and the store's champion models.

``bentoml build`` runs on a staged context holding only what the service imports (``bentos/`` and the
``alphapulse`` package, flat so the Bento's working directory imports them), with the root
``bentofile.yaml`` completed by the models, the package's runtime requirements, and a version carrying
each champion's MLflow version (``v<version>[_v<version>...]-<UTC time>``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from importlib.metadata import requires
from pathlib import Path
from typing import Any

import yaml

from alphapulse.serving.bundle import store_of
from alphapulse.settings import Settings, get_settings
from alphapulse.training.registry import registered_name

REPO = Path(__file__).resolve().parents[3]
PACKAGE = Path(__file__).resolve().parents[1]


def bento_version(model_versions: list[str], now: datetime) -> str:
    return f"{'_'.join(f'v{v}' for v in model_versions)}-{now.strftime('%Y%m%dt%H%M%S')}"


def runtime_requirements() -> list[str]:
    """The package's own dependencies (extras excluded), as the installed metadata states them."""
    return [r for r in requires("alphapulse") or [] if "extra ==" not in r]


def build_bento(
    symbols: list[str] | None = None, timeframe: str | None = None, *, settings: Settings | None = None
) -> str:
    """Build the Bento into ``settings.bentoml_home``; returns its tag (``alphapulse:<version>``)."""
    settings = settings or get_settings()
    store = store_of(settings)
    models: list[str] = []
    versions: list[str] = []
    for symbol in symbols or settings.symbols:
        name = registered_name(symbol, timeframe or settings.timeframe)
        model = store.get(f"{name}:latest")
        models.append(str(model.tag))
        versions.append(str(model.info.labels["mlflow_version"]))
    spec: dict[str, Any] = yaml.safe_load((REPO / "bentofile.yaml").read_text(encoding="utf-8"))
    spec["models"] = models
    spec["python"] = {**spec.get("python", {}), "packages": runtime_requirements()}
    version = bento_version(versions, datetime.now(UTC))
    with tempfile.TemporaryDirectory(prefix="alphapulse-bento-") as staging:
        context = Path(staging)
        shutil.copytree(REPO / "bentos", context / "bentos", ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copytree(PACKAGE, context / "alphapulse", ignore=shutil.ignore_patterns("__pycache__"))
        (context / "bentofile.yaml").write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
        environment = {**os.environ, **settings.tool_environment()}
        command = [str(Path(sys.executable).with_name("bentoml")), "build", "--version", version, "-o", "tag"]
        result = subprocess.run(
            [*command, str(context)],
            cwd=context,
            env=environment,
            capture_output=True,
            text=True,
            check=False,
        )
    if result.returncode != 0:
        raise RuntimeError(f"bentoml build failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return f"alphapulse:{version}"
