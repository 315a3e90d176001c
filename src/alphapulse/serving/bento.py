"""``alphapulse model bento``: the one way to build the AlphaPulse Bento, and to move it in and out.

CI's release, the export-champion flow and the CLI all call :func:`build_bento`. It works from an
installed wheel as from a checkout: ``bentoml build`` runs on a staged context holding only what the
service imports (the installed ``bentos`` and ``alphapulse`` packages, flat, so the Bento's working
directory imports them; no bundled data), with ``bentos/bentofile.yaml`` completed by

- the champion (and, when exported, the challenger) of every symbol in the BentoML model store;
- the closure of ``alphapulse[serving]``'s requirements, each pinned (from ``requirements.lock`` when
  given, else from this environment, which every install path builds from that lock), so the Bento's
  environment installs exactly what the service imports and ``bentoml containerize`` needs nothing
  beyond PyPI;
- the Python version of this interpreter (the pins are for it);
- a version ``v<mlflow version>[_v...]-fs<feature set>[_...]-<UTC time>`` and labels naming every model.

:func:`export_bento` and :func:`import_bento` move a built Bento through the artifact store (a folder,
or ``s3://bucket/prefix`` through s3fs) as ``bentoml export``/``bentoml import`` do.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import distribution
from pathlib import Path
from typing import Any

import yaml

from alphapulse import __version__
from alphapulse.features import FeatureConfig
from alphapulse.features.sentiment import scorer_extra
from alphapulse.serving.bundle import CONFIG_FILE, bento_model_name, store_of
from alphapulse.settings import Settings, get_settings

BENTO_NAME = "alphapulse"
#: BentoML's limit on a tag's version.
MAX_VERSION_LENGTH = 63
#: The extra whose closure is the Bento's environment (pyproject.toml).
SERVING_EXTRA = "serving"


@dataclass(frozen=True)
class PackagedModel:
    tag: str
    registered: str
    role: str
    mlflow_version: str
    feature_set: str
    #: The headline scorer its feature set computes sentiment with: the Bento must be able to load it.
    scorer: str


def package_dir(name: str) -> Path:
    """Where an importable top-level package lives (site-packages, or the checkout when editable)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise LookupError(f"package {name!r} is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def bento_version(champions: list[PackagedModel], now: datetime) -> str:
    models = "_".join(f"v{model.mlflow_version}" for model in champions)
    feature_sets = "_".join(dict.fromkeys(model.feature_set for model in champions))
    stamp = now.astimezone(UTC).strftime("%Y%m%dt%H%M%S")
    version = f"{models}-fs{feature_sets}-{stamp}"
    if len(version) <= MAX_VERSION_LENGTH:
        return version
    # Many symbols: the labels name every model; the version keeps a digest of them.
    digest = hashlib.sha256(f"{models}|{feature_sets}".encode()).hexdigest()[:16]
    return f"m{digest}-{stamp}"


def read_lock(path: Path) -> dict[str, str]:
    """``requirements.lock`` as canonical name -> its ``name==version`` line."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    pins: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            pins[canonicalize_name(Requirement(line).name)] = line
    return pins


def bento_extras(settings: Settings, models: Iterable[PackagedModel] = ()) -> frozenset[str]:
    """The extras the Bento installs: serving, and those of the scorers its models' features use and
    ``/sentiment`` compares."""
    names = {*settings.serving_sentiment_scorers, *(model.scorer for model in models)}
    extras = {scorer_extra(name) for name in names}
    return frozenset({SERVING_EXTRA} | {extra for extra in extras if extra is not None})


def serving_requirements(
    lock: Path | None = None, extras: frozenset[str] = frozenset({SERVING_EXTRA})
) -> list[str]:
    """``alphapulse[<extras>]`` and everything it needs, transitively, as ``name==version`` lines.

    Markers are evaluated for this interpreter and platform (the image's: CPython on Linux). With a
    lock every package must be in it; without, this environment's versions are the pins.
    """
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    pins = read_lock(lock) if lock is not None else None
    wanted: list[tuple[str, frozenset[str]]] = [("alphapulse", extras)]
    seen: dict[str, set[str]] = {}  # canonical name -> extras already followed
    while wanted:
        name, extras = wanted.pop()
        canonical = str(canonicalize_name(name))
        if canonical in seen and extras <= seen[canonical]:
            continue
        seen.setdefault(canonical, set()).update(extras)
        for text in distribution(name).requires or []:
            requirement = Requirement(text)
            marker = requirement.marker
            if marker is None or any(marker.evaluate({"extra": e}) for e in {"", *extras}):
                wanted.append((requirement.name, frozenset(requirement.extras)))
    lines = []
    for key in sorted(seen.keys() - {"alphapulse"}):
        if pins is None:
            installed = distribution(key)
            lines.append(f"{installed.metadata['Name']}=={installed.version}")
        elif key in pins:
            lines.append(pins[key])
        else:
            raise LookupError(
                f"{key} is needed by alphapulse[{','.join(sorted(extras))}] but not pinned in {lock}"
            )
    return lines


def packaged_models(symbols: Iterable[str], timeframe: str, settings: Settings) -> list[PackagedModel]:
    """``:latest`` champion of every symbol from the BentoML store, and its challenger when exported."""
    from bentoml.exceptions import NotFound

    from alphapulse.training.registry import registered_name

    store = store_of(settings)
    models = []
    for symbol in symbols:
        registered = registered_name(symbol, timeframe)
        for role in ("champion", "challenger"):
            try:
                model = store.get(f"{bento_model_name(registered, role)}:latest")
            except NotFound as missing:
                if role == "challenger":
                    continue
                raise LookupError(
                    f"{registered}: no champion in the BentoML store; run `alphapulse model export`"
                ) from missing
            labels = model.info.labels
            models.append(
                PackagedModel(
                    tag=str(model.tag),
                    registered=registered,
                    role=role,
                    mlflow_version=str(labels["mlflow_version"]),
                    feature_set=str(labels["feature_set"]),
                    scorer=FeatureConfig.model_validate_json(
                        Path(model.path_of(CONFIG_FILE)).read_text(encoding="utf-8")
                    ).sentiment.scorer,
                )
            )
    return models


def bento_spec(models: list[PackagedModel], requirements: list[str]) -> dict[str, Any]:
    """``bentos/bentofile.yaml`` completed with the models, the pins and the labels."""
    spec: dict[str, Any] = yaml.safe_load((package_dir("bentos") / "bentofile.yaml").read_text("utf-8"))
    champions = [model for model in models if model.role == "champion"]
    spec["models"] = [model.tag for model in models]
    spec["python"] = {**spec.get("python", {}), "packages": requirements}
    spec["docker"] = {
        **spec.get("docker", {}),
        "python_version": f"{sys.version_info[0]}.{sys.version_info[1]}",
    }
    spec["labels"] = {
        **spec.get("labels", {}),
        "alphapulse_version": __version__,
        "champions": ",".join(f"{m.registered}=v{m.mlflow_version}" for m in champions),
        "challengers": ",".join(
            f"{m.registered}=v{m.mlflow_version}" for m in models if m.role != "champion"
        ),
        "feature_sets": ",".join(dict.fromkeys(model.feature_set for model in champions)),
    }
    return spec


def _versions(models: list[PackagedModel]) -> str:
    return ",".join(f"{model.registered}=v{model.mlflow_version}" for model in models)


def build_bento(
    symbols: list[str] | None = None,
    timeframe: str | None = None,
    *,
    settings: Settings | None = None,
    lock: Path | None = None,
) -> str:
    """Build the Bento into ``settings.bentoml_home``; returns its tag (``alphapulse:<version>``)."""
    settings = settings or get_settings()
    chosen = settings.symbols if symbols is None else symbols
    models = packaged_models(chosen, timeframe or settings.timeframe, settings)
    spec = bento_spec(models, serving_requirements(lock, bento_extras(settings, models)))
    version = bento_version([m for m in models if m.role == "champion"], datetime.now(UTC))
    with tempfile.TemporaryDirectory(prefix="alphapulse-bento-") as staging:
        context = Path(staging)
        skip = shutil.ignore_patterns("__pycache__", "*.pyc", "data")
        shutil.copytree(package_dir("bentos"), context / "bentos", ignore=skip)
        shutil.copytree(package_dir("alphapulse"), context / "alphapulse", ignore=skip)
        # The package's version is part of every feature-set version: without its metadata beside it,
        # the Bento's alphapulse would report 0.0.0+unknown and refuse the models it carries.
        metadata = context / f"alphapulse-{__version__}.dist-info" / "METADATA"
        metadata.parent.mkdir()
        metadata.write_text(distribution("alphapulse").read_text("METADATA") or "", encoding="utf-8")
        (context / "bentofile.yaml").write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
        command = [str(Path(sys.executable).with_name("bentoml")), "build", "--version", version, "-o", "tag"]
        result = subprocess.run(
            [*command, str(context)],
            cwd=context,
            env={**os.environ, **settings.tool_environment()},
            capture_output=True,
            text=True,
            check=False,
        )
    if result.returncode != 0:
        raise RuntimeError(f"bentoml build failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return f"{BENTO_NAME}:{version}"


def publish_bento(tag: str, *, settings: Settings | None = None) -> str | None:
    """Export ``tag`` to ``settings.bento_exports_uri``; None when no artifact store is configured."""
    settings = settings or get_settings()
    if settings.bento_exports_uri is None:
        return None
    return export_bento(tag, settings.bento_exports_uri, settings=settings)


def _bentoml(args: list[str], settings: Settings) -> str:
    """The ``bentoml`` command on this environment's stores (models and Bentos under ``bentoml_home``):
    exports read the Bento's models from the model store of the process, so the process must be one
    whose ``BENTOML_HOME`` is ours, whatever this one's was when BentoML was first imported."""
    command = [str(Path(sys.executable).with_name("bentoml")), *args]
    result = subprocess.run(
        command,
        env={**os.environ, **settings.tool_environment()},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"bentoml {args[0]} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return result.stdout


def export_bento(tag: str, destination: str, *, settings: Settings | None = None) -> str:
    """``bentoml export`` (the Bento and its models) into a folder or ``s3://bucket/prefix``, as
    ``<destination>/<name>-<version>.bento``; returns that location."""
    settings = settings or get_settings()
    if "://" not in destination:
        Path(destination).mkdir(parents=True, exist_ok=True)
    name, version = tag.split(":", 1)
    folder = destination.rstrip("/")
    _bentoml(["export", tag, f"{folder}/"], settings)
    return f"{folder}/{name}-{version}.bento"


def import_bento(source: str, *, settings: Settings | None = None) -> str:
    """``bentoml import`` of an exported ``.bento`` (a path or an ``s3://`` URL) into this environment's
    stores, its models included; returns the tag."""
    settings = settings or get_settings()
    _bentoml(["import", source], settings)
    return _bento_tag(source)


def _bento_tag(archive: str) -> str:
    """``.../alphapulse-<version>.bento`` -> ``alphapulse:<version>`` (BentoML's export file name)."""
    stem = archive.rstrip("/").rsplit("/", 1)[-1].removesuffix(".bento")
    return f"{BENTO_NAME}:{stem.removeprefix(f'{BENTO_NAME}-')}"
