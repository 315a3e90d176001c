"""The production images, built and run for real: the Bento by the release path, containerized, serving
the champion over HTTP from the container. The worker image is built here too; what it runs (every
deployment on the stack's pool, into PostgreSQL) is tests/deploy/test_stack.py's.

The engine and base images come from scripts/container-engine (stand-ins where no registry answers).
Both containers share the host's network (the private engine has no bridge), so they reach the test's
throwaway database on 127.0.0.1:5432 and the host reaches them on a free loopback port. The Bento is the
one `alphapulse model bento --lock requirements.lock` builds from the wheel install (``world``), with the
champion that install's ``alphapulse run`` trained; at run time the container reads nothing but its own
models (the Bento carries them), the online features and the API keys in the database. Durations and sizes are printed
(``-s``) for docs/DEPLOY.md.
"""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from alphapulse.access.keys import create_key
from alphapulse.features import load_config
from alphapulse.pipeline.features import build_stored_feature_set
from alphapulse.pipeline.ingest import store_candles, store_news
from alphapulse.sources.bundled import CANDLES_FILE, CANDLES_SOURCE, HEADLINES_FILE, bundled_path
from alphapulse.sources.csv_candles import read_candle_csv
from alphapulse.sources.news import read_headline_dataset
from alphapulse.store import make_engine, upgrade
from alphapulse.store.tables import Candle, FeatureSetRecord
from tests.conftest import throwaway_database
from tests.support.containers import (
    REPO,
    Engine,
    build_image,
    drop_replaced,
    ensure_base_images,
    image_id,
    image_size,
    run_container,
    wait_for_http,
)
from tests.support.processes import free_port
from tests.support.wheel_world import World, build_release, checked, run

pytestmark = [pytest.mark.container, pytest.mark.postgres, pytest.mark.slow]

SYMBOL, TIMEFRAME = "BTC/USDT", "1h"
#: Fixed local tags: each run re-tags them, so the previous image's layers serve as the build cache.
BENTO_IMAGE = "alphapulse-bento:container-test"
WORKER_IMAGE = "alphapulse-runtime:container-test"
#: Bars of the bundled history stored for the Bento's database: more than the feature window needs.
RECENT_BARS = 1500


@pytest.fixture(scope="module")
def bento_image(world: World, docker_engine: Engine) -> str:
    release = build_release(world)
    docker_engine.seconds["alphapulse model bento"] = release.seconds
    ensure_base_images(docker_engine, "python:3.12-slim")
    env = world.env(
        BENTOML_HOME=str(world.home / "bentoml"),
        BENTOML_DO_NOT_TRACK="true",
        DOCKER_BUILDKIT="0",
        DOCKER_HOST=docker_engine.docker_host,
    )
    previous = image_id(docker_engine, BENTO_IMAGE)
    started = time.perf_counter()
    command = [str(world.installed.bin / "bentoml"), "containerize", release.tag, "--opt", "network=host"]
    checked(run([*command, "-t", BENTO_IMAGE], world.workdir, env, timeout=3600))
    docker_engine.seconds["bentoml containerize"] = time.perf_counter() - started
    drop_replaced(docker_engine, BENTO_IMAGE, previous)
    size = image_size(docker_engine, BENTO_IMAGE)
    print(f"Bento image {release.tag}: {size / 2**20:.0f} MiB")
    return release.tag


@pytest.fixture(scope="module")
def worker_image(docker_engine: Engine) -> str:
    ensure_base_images(docker_engine, "python:3.12-slim-bookworm")
    seconds = build_image(docker_engine, WORKER_IMAGE, dockerfile=REPO / "deploy" / "worker.Dockerfile")
    docker_engine.seconds["worker image build"] = seconds
    print(f"worker image: {image_size(docker_engine, WORKER_IMAGE) / 2**20:.0f} MiB")
    return WORKER_IMAGE


def fresh_features(url: str, data_dir: Path) -> datetime:
    """The bundled history's last bars, moved in time so the last one is the latest closed hour, and
    their headlines, stored and built into the feature set (which publishes its latest row) as the
    worker does; returns the latest bar's open time."""
    _form, rows = read_candle_csv(bundled_path(CANDLES_FILE), CANDLES_SOURCE)
    recent = rows[-RECENT_BARS:]
    latest_closed = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    shift = latest_closed - recent[-1]["open_time"]
    first = recent[0]["open_time"]
    engine = make_engine(url)
    try:
        upgrade(engine)
        store_candles(
            engine, [{**row, "open_time": row["open_time"] + shift} for row in recent], run_id="test"
        )
        headlines = [
            {**row, "published_at": row["published_at"] + shift}
            for row in read_headline_dataset(bundled_path(HEADLINES_FILE))
            if row["published_at"] >= first
        ]
        store_news(engine, headlines, source="bundled", run_id="test")
        build_stored_feature_set(
            engine, exchange="binance", symbol=SYMBOL, config=load_config(), data_dir=data_dir
        )
    finally:
        engine.dispose()
    return latest_closed


def champion_feature_set(world: World) -> str:
    """The feature set the champion was trained on (the wheel install's own store)."""
    with sqlite3.connect(world.home / "alphapulse.db") as store:
        (version,) = store.execute("SELECT version FROM feature_sets").fetchone()
    return str(version)


def test_the_containerized_release_bento_serves_the_champion_from_postgres(
    world: World, bento_image: str, docker_engine: Engine, pg_server: str, tmp_path: Path
) -> None:
    with throwaway_database(pg_server) as url:
        as_of = fresh_features(url, tmp_path / "features")
        store = make_engine(url)
        try:  # what an operator issues with `alphapulse keys create`
            token = create_key(store, "container-test", ["signal", "models"]).token
        finally:
            store.dispose()
        key = {"X-API-Key": token}
        port = free_port()
        env = {
            "ALPHAPULSE_DATABASE_URL": url,
            "ALPHAPULSE_HOME": "/tmp/alphapulse",
            "ALPHAPULSE_SERVING_WORKERS": "1",
        }
        base = f"http://127.0.0.1:{port}"
        started = time.perf_counter()
        with run_container(
            docker_engine, BENTO_IMAGE, "--host", "127.0.0.1", "--port", str(port), env=env
        ) as container:
            wait_for_http(f"{base}/readyz", container=container, timeout=180)
            docker_engine.seconds["Bento container to /readyz 200"] = time.perf_counter() - started
            body = {"symbol": SYMBOL, "timeframe": TIMEFRAME}
            anonymous = httpx.post(f"{base}/signal", json=body, timeout=30)
            answer = httpx.post(f"{base}/signal", json=body, headers=key, timeout=30)
            loaded = httpx.get(f"{base}/models/status", headers=key, timeout=30).json()
        engine = make_engine(url)
        try:
            with engine.connect() as connection:
                feature_set = connection.execute(select(FeatureSetRecord.version)).scalar_one()
                close = connection.execute(
                    select(Candle.close).order_by(Candle.open_time.desc()).limit(1)
                ).scalar_one()
        finally:
            engine.dispose()
    assert anonymous.status_code == 401, anonymous.text
    assert anonymous.json()["error"] == "unauthorized", anonymous.text
    assert answer.status_code == 200, answer.text
    signal = answer.json()
    assert signal["model"]["version"] == "1"
    assert signal["model"]["feature_set"] == feature_set == champion_feature_set(world)
    assert datetime.fromisoformat(signal["as_of"]) == as_of
    assert Decimal(signal["reference_price"]) == Decimal(close)
    assert {model["bento_tag"] for model in loaded["models"]} == {"alphapulse-btc-usdt-1h:v1"}
    assert loaded["bento"] == bento_image, "the Bento's own tag"
