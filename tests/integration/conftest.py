"""One served world for the service's integration tests: a ``bentoml serve`` of two workers on loopback.

The world (candles and headlines of the bundled data in a SQLite store, the feature set materialized, a
champion trained and exported, the same version exported as challenger too) and the server (shadow
scoring on, three sentiment scorers compared, rate limits counted in a Redis database of its own,
loopback trusted as a proxy so tests can act as several client addresses through X-Forwarded-For, CORS
for one origin) are built once per session and shared by the test_serving_*.py modules here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
import redis

from alphapulse.access.keys import SCOPES, create_key
from alphapulse.features import FeatureMatrix
from alphapulse.pipeline.export import export_model
from alphapulse.pipeline.instrument import Instrument
from alphapulse.settings import Settings
from alphapulse.store import make_engine, upgrade
from alphapulse.training import load_champion, registered_name
from alphapulse.training.tracking import client
from tests.support.bento_serve import bentoml_serve
from tests.support.processes import http_ok
from tests.support.served_world import SYMBOL, TIMEFRAME, serve_champion

#: Inside the headline period, so the sentiment features take part in the parity check.
FIRST, END = datetime(2021, 10, 1, tzinfo=UTC), datetime(2022, 7, 1, tzinfo=UTC)
#: Responses per worker between two keep-alive connection closes (the server runs two workers).
RECYCLE_EVERY = 20
#: The test data ends in 2022, years before now: a maximum age generous enough to serve it anyway
#: (the refusal of stale bars is tested in test_serving_database_outage.py, on the default).
MAX_AGE_BARS = "1e7"
#: A Redis database of the machine's server that only these tests use (flushed when the server starts).
LIMITS_STORAGE = "redis://127.0.0.1:6379/11"
AUTH_FAILURES = "20/minute"
CORS_ORIGIN = "https://desk.example.com"
#: What /sentiment compares: FinBERT is a tiny random BERT on disk (no weights can be downloaded here),
#: loaded by every worker through the scorer's production path with the hub switched off.
COMPARED_SCORERS = ("vader", "finvader", "finbert")
#: Limits no test reaches, for the keys that are not about limits.
UNLIMITED = {scope: "100000/second" for scope in SCOPES}


@dataclass(frozen=True)
class World:
    settings: Settings
    candles: pd.DataFrame
    news: pd.DataFrame
    matrix: FeatureMatrix
    offline: np.ndarray
    #: Every scope, no practical limit.
    token: str
    key_id: str

    def key(self, name: str, scopes: list[str], limits: dict[str, str] | None = None) -> tuple[str, str]:
        """A new key in the served store: (token, key id)."""
        engine = make_engine(self.settings.database_url)
        try:
            issued = create_key(engine, name, scopes, limits)
        finally:
            engine.dispose()
        return issued.token, issued.info.key_id


@dataclass(frozen=True)
class Server:
    base: str
    log: Path

    def client(self, token: str, **options: object) -> httpx.Client:
        return httpx.Client(base_url=self.base, headers={"X-API-Key": token}, timeout=60, **options)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    settings = Settings(home=tmp_path_factory.mktemp("serving") / "home")
    settings.ensure_dirs()
    engine = make_engine(settings.database_url)
    upgrade(engine)
    served = serve_champion(settings, engine, first=FIRST, end=END)
    # The same version as challenger: shadow scoring is then checkable (both answers must agree).
    client(settings).set_registered_model_alias(
        registered_name(SYMBOL, TIMEFRAME), "challenger", served.version
    )
    export_model(settings, Instrument.of(settings, SYMBOL, timeframe=TIMEFRAME), role="challenger")
    predictor = load_champion(SYMBOL, TIMEFRAME, settings=settings)
    matrix = served.matrix
    offline = predictor.predict_proba(matrix.frame[list(matrix.feature_columns)])
    issued = create_key(engine, "tests", SCOPES, UNLIMITED)
    engine.dispose()
    return World(settings, served.candles, served.news, matrix, offline, issued.token, issued.info.key_id)


@pytest.fixture(scope="session")
def server(world: World, tiny_bert: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    redis.Redis.from_url(LIMITS_STORAGE).flushdb()
    log = tmp_path_factory.mktemp("logs") / "serve.log"
    with bentoml_serve(
        world.settings,
        log,
        until=http_ok,
        ALPHAPULSE_SHADOW_CHALLENGER="true",
        ALPHAPULSE_SERVING_REFRESH_SECONDS="1",
        ALPHAPULSE_SERVING_WORKERS="2",
        ALPHAPULSE_SERVING_RECYCLE_REQUESTS=str(RECYCLE_EVERY),
        ALPHAPULSE_SERVING_MAX_AGE_BARS=MAX_AGE_BARS,
        ALPHAPULSE_SERVING_LIMITS_STORAGE=LIMITS_STORAGE,
        ALPHAPULSE_SERVING_AUTH_FAILURE_LIMIT=AUTH_FAILURES,
        ALPHAPULSE_SERVING_TRUSTED_PROXIES="127.0.0.1/32",
        ALPHAPULSE_SERVING_CORS_ORIGINS=CORS_ORIGIN,
        ALPHAPULSE_SERVING_SENTIMENT_SCORERS=",".join(COMPARED_SCORERS),
        ALPHAPULSE_FINBERT_MODEL=str(tiny_bert),
        HF_HUB_OFFLINE="1",
    ) as (base, _process):
        yield Server(base, log)
