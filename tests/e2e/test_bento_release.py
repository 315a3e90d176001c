"""The Bento by the release path, from the wheel install: ``alphapulse model bento --lock requirements.lock``
(what .github/workflows/release.yml runs), exported to S3 on loopback, moved through a folder, and served
by ``bentoml serve`` from a venv holding nothing but the Bento's own requirements.
"""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import httpx
import pandas as pd
import pytest
from moto.server import ThreadedMotoServer

from alphapulse.access.keys import create_key
from alphapulse.store import make_engine
from tests.support.processes import free_port, http_ok, running, wait_until
from tests.support.wheel_world import LOCK, Release, World, build_release, checked, install, new_venv, run
from tests.unit.serving.test_bento import PIPELINE_ONLY

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

BUCKET = "alphapulse-artifacts"
AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "eu-central-1",
}
CHAMPION = "alphapulse-btc-usdt-1h:v1"
CHALLENGER = "alphapulse-btc-usdt-1h-challenger:v1"


@pytest.fixture(scope="module")
def s3() -> Iterator[dict[str, str]]:
    """A real S3 API on loopback (moto's server); the variables that point boto3 and s3fs at it."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    variables = {**AWS, "AWS_ENDPOINT_URL": f"http://{host}:{port}"}
    s3_client(variables).create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"}
    )
    try:
        yield variables
    finally:
        server.stop()


def s3_client(variables: dict[str, str]) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=variables["AWS_ENDPOINT_URL"],
        region_name=variables["AWS_DEFAULT_REGION"],
        aws_access_key_id=variables["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=variables["AWS_SECRET_ACCESS_KEY"],
    )


@pytest.fixture(scope="module")
def release(world: World, s3: dict[str, str]) -> Release:
    built = build_release(world, ALPHAPULSE_BENTO_EXPORTS_URI=f"s3://{BUCKET}/bentos", **s3)
    world.installed.seconds["alphapulse model bento (build + S3 export)"] = built.seconds
    return built


def bentoml(world: World, home: Path, *args: str, **variables: str) -> subprocess.CompletedProcess[str]:
    env = world.installed.env(BENTOML_HOME=str(home), BENTOML_DO_NOT_TRACK="true", **variables)
    return checked(run([str(world.installed.bin / "bentoml"), *args], world.workdir, env))


def described(world: World, home: Path, tag: str) -> dict[str, object]:
    info = json.loads(bentoml(world, home, "get", tag, "-o", "json").stdout)
    assert isinstance(info, dict)
    return info


def stored_feature_set(world: World) -> str:
    with sqlite3.connect(world.home / "alphapulse.db") as store:
        (version,) = store.execute("SELECT version FROM feature_sets").fetchone()
    return str(version)


def test_the_release_bento_carries_the_champion_pinned_requirements_and_the_versions(
    world: World, release: Release
) -> None:
    feature_set = stored_feature_set(world)
    assert re.fullmatch(rf"v1-fs{feature_set}-\d{{8}}t\d{{6}}", release.version), release.version
    store = world.home / "bentoml"
    listed = json.loads(bentoml(world, store, "list", "-o", "json").stdout)
    assert release.tag in {entry["tag"] for entry in listed}
    info = described(world, store, release.tag)
    assert {model["tag"] for model in info["models"]} == {CHAMPION, CHALLENGER}  # type: ignore[attr-defined]
    labels = info["labels"]
    assert labels["champions"] == "alphapulse-btc-usdt-1h=v1"  # type: ignore[index]
    assert labels["feature_sets"] == feature_set  # type: ignore[index]
    bento = store / "bentos" / "alphapulse" / release.version
    requirements = [
        line for line in (bento / "env/python/requirements.txt").read_text().splitlines() if line.strip()
    ]
    lock = set(LOCK.read_text().splitlines())
    assert set(requirements) <= lock, set(requirements) - lock
    names = {line.split("==")[0].lower() for line in requirements}
    assert {"bentoml", "xgboost", "catboost", "scikit-learn", "pandas-ta", "psycopg-binary"} <= names
    assert not names & PIPELINE_ONLY
    assert (bento / "src/bentos/service.py").is_file()
    assert (bento / "src/alphapulse/serving/runtime.py").is_file()
    assert (bento / "src/alphapulse/features/default.yaml").is_file()
    assert not (bento / "src/alphapulse/data").exists()
    size = sum(path.stat().st_size for path in bento.rglob("*") if path.is_file())
    print(f"Bento {release.tag}: {size / 2**20:.1f} MiB, built and exported in {release.seconds:.0f} s")


def test_bentoml_export_to_a_folder_and_import_into_another_store(
    world: World, release: Release, tmp_path: Path
) -> None:
    origin = world.home / "bentoml"
    (tmp_path / "exports").mkdir()
    bentoml(world, origin, "export", release.tag, f"{tmp_path / 'exports'}/")
    (archive,) = (tmp_path / "exports").glob("*.bento")
    assert archive.name == f"alphapulse-{release.version}.bento"
    other = tmp_path / "other-store"
    bentoml(world, other, "import", str(archive))
    assert described(world, other, release.tag)["models"] == described(world, origin, release.tag)["models"]


def test_the_release_exported_to_s3_and_bentoml_import_brings_it_back(
    world: World, release: Release, s3: dict[str, str], tmp_path: Path
) -> None:
    key = f"bentos/alphapulse-{release.version}.bento"
    assert f"s3://{BUCKET}/{key}" in "".join(release.output.split())  # the console wraps long lines
    objects = s3_client(s3).list_objects_v2(Bucket=BUCKET)["Contents"]
    assert key in {item["Key"] for item in objects}
    print(f"exported Bento: {next(o['Size'] for o in objects if o['Key'] == key) / 2**10:.0f} KiB")
    other = tmp_path / "restored-store"
    bentoml(world, other, "import", f"s3://{BUCKET}/{key}", **s3)
    restored = described(world, other, release.tag)
    assert {model["tag"] for model in restored["models"]} == {CHAMPION, CHALLENGER}  # type: ignore[attr-defined]


def test_the_bentos_own_environment_serves_the_champion(
    world: World, release: Release, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A venv from the Bento's requirements only; a store holding only the imported Bento, so the models
    can only come from it; features from the database the run published them to."""
    root = tmp_path_factory.mktemp("bento-env")
    store = root / "store"
    bentoml(world, world.home / "bentoml", "export", release.tag, f"{root}/")
    bentoml(world, store, "import", str(root / f"alphapulse-{release.version}.bento"))
    requirements = store / "bentos" / "alphapulse" / release.version / "env/python/requirements.txt"
    venv = root / "venv"
    started = time.perf_counter()
    new_venv(venv, root)
    install(venv, root, "-r", str(requirements))
    world.installed.seconds["Bento env venv"] = time.perf_counter() - started
    port = free_port()
    env = {
        **world.installed.env(),
        "PATH": f"{venv / 'bin'}:{world.installed.env()['PATH']}",
        "BENTOML_HOME": str(store),
        "BENTOML_DO_NOT_TRACK": "true",
        "ALPHAPULSE_HOME": str(root / "serving-home"),
        "ALPHAPULSE_DATABASE_URL": f"sqlite:///{world.home / 'alphapulse.db'}",
        "ALPHAPULSE_SERVING_WORKERS": "1",
        # The bundled history ends years ago: /signal would refuse its last bar as stale (503).
        "ALPHAPULSE_SERVING_MAX_AGE_BARS": "1e7",
    }
    store_engine = make_engine(env["ALPHAPULSE_DATABASE_URL"])
    try:  # a client's key, issued in the store the Bento reads (as `alphapulse keys create` does)
        key = {
            "X-API-Key": create_key(
                store_engine, f"release-{secrets.token_hex(4)}", ["signal", "models"]
            ).token
        }
    finally:
        store_engine.dispose()
    command = [str(venv / "bin/bentoml"), "serve", release.tag, "--host", "127.0.0.1", "--port", str(port)]
    base = f"http://127.0.0.1:{port}"
    log = root / "serve.log"
    with running(command, env=env, log=log, cwd=root) as process:
        try:
            wait_until(http_ok(f"{base}/readyz"), timeout=180, what="the Bento to be ready")
        except TimeoutError:
            pytest.fail(f"Bento not ready (exit {process.poll()}):\n{log.read_text()[-4000:]}")
        body = {"symbol": "BTC/USDT", "timeframe": "1h"}
        answer = httpx.post(f"{base}/signal", json=body, headers=key, timeout=30)
        loaded = httpx.get(f"{base}/models/status", headers=key, timeout=30).json()
    assert answer.status_code == 200, answer.text
    signal = answer.json()
    assert signal["model"]["version"] == "1"
    assert signal["model"]["feature_set"] == stored_feature_set(world)
    with sqlite3.connect(world.home / "alphapulse.db") as db:
        open_time, close = db.execute(
            "SELECT open_time, close FROM candles ORDER BY open_time DESC"
        ).fetchone()
    assert pd.Timestamp(signal["as_of"]) == pd.Timestamp(open_time, tz="UTC")  # SQLite: naive UTC text
    assert Decimal(signal["reference_price"]) == Decimal(close)
    assert {m["bento_tag"] for m in loaded["models"]} == {CHAMPION}
    probe = "import importlib.util as u; print(u.find_spec('alphapulse'), u.find_spec('prefect'))"
    found = checked(run([str(venv / "bin/python"), "-c", probe], root, world.installed.env()))
    assert found.stdout.split() == ["None", "None"], "the service must run on the Bento's own alphapulse"
