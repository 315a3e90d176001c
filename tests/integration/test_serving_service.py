"""The BentoML service for real: a ``bentoml serve`` process on 127.0.0.1, called over HTTP.

One world per module (candles and headlines of the bundled data in a SQLite store, the feature set
materialized, a champion trained and exported, the same version exported as challenger too) and one
server with shadow scoring and an admin key.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from alphapulse.features import FeatureMatrix, online_window_bars
from alphapulse.money import to_text
from alphapulse.pipeline.export import export_model
from alphapulse.pipeline.instrument import Instrument
from alphapulse.settings import Settings
from alphapulse.store import PREDICTIONS, make_engine, upgrade
from alphapulse.training import load_champion, registered_name
from alphapulse.training.tracking import client
from tests.support.processes import clean_environment, free_port, http_ok, running, wait_until
from tests.support.served_world import SYMBOL, TIMEFRAME, serve_champion

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
BENTOML = str(Path(sys.executable).with_name("bentoml"))
ADMIN_KEY = "test-admin-key"
#: Inside the headline period, so the sentiment features take part in the parity check.
FIRST, END = datetime(2021, 10, 1, tzinfo=UTC), datetime(2022, 7, 1, tzinfo=UTC)
PARITY_BARS = 200
#: Responses per worker between two keep-alive connection closes (the server runs two workers).
RECYCLE_EVERY = 20
#: The test data ends in 2022, years before now: a maximum age generous enough to serve it anyway
#: (the refusal of stale bars is tested in test_serving_database_outage.py, on the default).
MAX_AGE_BARS = "1e7"


@dataclass(frozen=True)
class World:
    settings: Settings
    candles: pd.DataFrame
    news: pd.DataFrame
    matrix: FeatureMatrix
    offline: np.ndarray


@pytest.fixture(scope="module")
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
    engine.dispose()
    return World(settings, served.candles, served.news, matrix, offline)


@pytest.fixture(scope="module")
def server(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    settings = world.settings
    env = clean_environment(
        ALPHAPULSE_HOME=str(settings.home),
        BENTOML_HOME=str(settings.bentoml_home),
        BENTOML_DO_NOT_TRACK="true",
        ALPHAPULSE_ADMIN_API_KEY=ADMIN_KEY,
        ALPHAPULSE_SHADOW_CHALLENGER="true",
        ALPHAPULSE_SERVING_REFRESH_SECONDS="1",
        ALPHAPULSE_SERVING_WORKERS="2",
        ALPHAPULSE_SERVING_RECYCLE_REQUESTS=str(RECYCLE_EVERY),
        ALPHAPULSE_SERVING_MAX_AGE_BARS=MAX_AGE_BARS,
    )
    command = [BENTOML, "serve", "bentos.service:AlphaPulse", "--host", "127.0.0.1", "--port", str(port)]
    log = tmp_path_factory.mktemp("logs") / "serve.log"
    base = f"http://127.0.0.1:{port}"
    with running(command, env=env, log=log, cwd=REPO) as process:
        try:
            wait_until(http_ok(f"{base}/readyz"), timeout=180, what="the service to be ready")
        except TimeoutError:
            pytest.fail(f"service not ready (exit {process.poll()}):\n{log.read_text()[-4000:]}")
        yield base


def _candle(row: Any) -> dict[str, str]:
    prices = {name: to_text(getattr(row, name)) for name in ("open", "high", "low", "close", "volume")}
    return {"open_time": row.open_time.isoformat(), **prices}


def _predict_body(world: World, position: int) -> dict[str, Any]:
    """The request a client makes for bar ``position``: the preceding window and its headlines."""
    config = world.matrix.config
    window = world.candles.iloc[position + 1 - online_window_bars(config) : position + 1]
    first_close = window["open_time"].iloc[0] + pd.Timedelta(TIMEFRAME)
    last_close = window["open_time"].iloc[-1] + pd.Timedelta(TIMEFRAME)
    published = world.news["published_at"]
    news = world.news[(published > first_close - config.sentiment.news_lookback) & (published <= last_close)]
    return {
        "symbol": SYMBOL,
        "timeframe": TIMEFRAME,
        "candles": [_candle(row) for row in window.itertuples()],
        "headlines": [
            {"published_at": p.isoformat(), "title": t}
            for p, t in zip(news["published_at"], news["title"], strict=True)
        ],
    }


def test_probes_are_up(server: str) -> None:
    for probe in ("healthz", "livez", "readyz"):
        assert httpx.get(f"{server}/{probe}").status_code == 200


def test_predict_returns_the_offline_probability_bit_for_bit(world: World, server: str) -> None:
    last = len(world.candles) - 1
    with httpx.Client(base_url=server, timeout=60) as http:
        for position in range(last - PARITY_BARS + 1, last + 1):
            response = http.post("/predict", json=_predict_body(world, position))
            assert response.status_code == 200, response.text
            answer = response.json()
            assert answer["probability_up"] == float(world.offline[position]), position
            assert pd.Timestamp(answer["as_of"]) == world.candles["open_time"].iloc[position]
            assert answer["reference_price"] == to_text(world.candles["close"].iloc[position])
        signal = http.post("/signal", json={"symbol": SYMBOL, "timeframe": TIMEFRAME}).json()
    assert signal["probability_up"] == float(world.offline[last])
    assert pd.Timestamp(signal["as_of"]) == world.candles["open_time"].iloc[last]
    for served in (signal, answer):
        close = pd.Timestamp(served["as_of"]) + pd.Timedelta(TIMEFRAME)
        assert pd.Timestamp(served["bar_close_time"]) == close
        age = (datetime.now(UTC) - close.to_pydatetime()).total_seconds()
        assert 0 <= age - served["age_seconds"] < 120
    assert signal["model"] == answer["model"]
    assert signal["direction"] == ("up" if world.offline[last] >= 0.5 else "down")


def _bad(body: dict[str, Any], path: list[Any], value: Any) -> dict[str, Any]:
    copy = json.loads(json.dumps(body))
    target = copy
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return copy


@pytest.mark.parametrize(
    ("path", "value", "status", "says"),
    [
        (["candles", 5, "close"], 20000.5, 400, "float 20000.5 refused"),
        (["candles", 5, "close"], "NaN", 400, "not a decimal number"),
        (["candles", 5, "close"], "Infinity", 400, "not a decimal number"),
        (["candles", 5, "close"], "1e400", 400, "close: '1e400' is out of range"),
        (["candles", 5, "close"], "1e81", 400, "close: '1e81' is out of range"),
        (["candles", 5, "close"], "1e999999999", 400, "close: '1e999999999' is out of range"),
        (["candles", 5, "volume"], "1e-999999999", 400, "volume: '1e-999999999' is out of range"),
        (["candles", 5, "close"], "1e99999999999999999999", 400, "exponent is too large"),
        (["candles", 5, "close"], "1e21", 400, "close: 1000000000000000000000 does not fit"),
        (["candles", 5, "close"], " 20000", 400, "close: ' 20000' is not a decimal number"),
        (["candles", 5, "close"], "\u0662\u0660\u0660\u0660\u0660", 400, "close: "),
        (["candles", 5, "low"], "-1", 400, "is negative"),
        (["candles", 5, "high"], "1", 400, "is below low"),
        (["candles", 5, "open_time"], "2022-01-01T00:00:00", 400, "timezone"),
        (["candles", 6, "open_time"], "2020-01-01T00:00:00+00:00", 422, "candles[6].open_time"),
        (["symbol"], "ETH/USDT", 422, "symbol: no model serves ETH/USDT"),
        (["timeframe"], "4h", 422, "timeframe: no model serves"),
    ],
)
def test_bad_input_is_refused_with_the_field_and_reason(
    world: World, server: str, path: list[Any], value: Any, status: int, says: str
) -> None:
    body = _bad(_predict_body(world, len(world.candles) - 1), path, value)
    response = httpx.post(f"{server}/predict", json=body, timeout=60)
    assert response.status_code == status, response.text
    assert says in response.text


def test_duplicated_and_too_few_candles_are_refused(world: World, server: str) -> None:
    body = _predict_body(world, len(world.candles) - 1)
    duplicated = {**body, "candles": [*body["candles"][:10], body["candles"][9], *body["candles"][10:]]}
    response = httpx.post(f"{server}/predict", json=duplicated, timeout=60)
    assert response.status_code == 422
    assert "candles[10].open_time: duplicate bar" in response.text
    short = {**body, "candles": body["candles"][-500:]}
    response = httpx.post(f"{server}/predict", json=short, timeout=60)
    assert response.status_code == 422
    assert "needs candles from" in response.text
    response = httpx.post(f"{server}/signal", content=b"symbol=x", headers={"content-type": "text/plain"})
    assert response.status_code == 415


def test_predict_batch_scores_feature_rows_and_reports_bad_rows(world: World, server: str) -> None:
    columns = list(world.matrix.feature_columns)
    frame = world.matrix.frame[columns].iloc[-50:]
    rows = [
        {"symbol": SYMBOL, "timeframe": TIMEFRAME, "features": dict(zip(columns, map(float, r), strict=True))}
        for r in frame.to_numpy()
    ]
    rows.append({"symbol": "ETH/USDT", "timeframe": TIMEFRAME, "features": {}})
    response = httpx.post(f"{server}/predict_batch", json={"rows": rows}, timeout=60)
    assert response.status_code == 200, response.text
    answers = response.json()
    assert [a["probability_up"] for a in answers[:-1]] == [float(p) for p in world.offline[-50:]]
    assert answers[-1]["probability_up"] is None
    assert "no model serves ETH/USDT" in answers[-1]["error"]


def test_reload_needs_the_admin_key_and_swaps_without_dropping_requests(world: World, server: str) -> None:
    assert httpx.post(f"{server}/admin/reload", json={}).status_code == 401
    wrong = httpx.post(f"{server}/admin/reload", json={}, headers={"X-API-Key": "nope"})
    assert wrong.status_code == 401
    before = httpx.get(f"{server}/model").json()
    assert {m["role"] for m in before["models"]} == {"champion", "challenger"}
    export_model(
        world.settings, Instrument.of(world.settings, SYMBOL, timeframe=TIMEFRAME)
    )  # a fresh bundle: the swap is observable
    statuses: list[int] = []
    stop = threading.Event()

    def hammer() -> None:
        with httpx.Client(base_url=server, timeout=60) as http:
            while not stop.is_set():
                statuses.append(
                    http.post("/signal", json={"symbol": SYMBOL, "timeframe": TIMEFRAME}).status_code
                )

    worker = threading.Thread(target=hammer)
    worker.start()
    try:
        for _ in range(3):
            response = httpx.post(
                f"{server}/admin/reload", json={}, headers={"X-API-Key": ADMIN_KEY}, timeout=60
            )
            assert response.status_code == 200, response.text
    finally:
        stop.set()
        worker.join()
    assert statuses
    assert set(statuses) == {200}
    after = response.json()
    champion = next(m for m in after["models"] if m["role"] == "champion")
    loaded_before = next(m for m in before["models"] if m["role"] == "champion")["loaded_at"]
    assert pd.Timestamp(champion["loaded_at"]) > pd.Timestamp(loaded_before)
    assert champion["mlflow_version"] == before["models"][0]["mlflow_version"]
    assert champion["feature_set"] == world.matrix.version


def test_every_answer_is_logged_for_both_roles(world: World, server: str) -> None:
    answer = httpx.post(f"{server}/signal", json={"symbol": SYMBOL, "timeframe": TIMEFRAME}).json()
    engine = make_engine(world.settings.database_url)

    def logged() -> list[Any]:
        with engine.connect() as connection:
            query = select(PREDICTIONS).where(PREDICTIONS.c.request_id == answer["request_id"])
            return list(connection.execute(query).mappings().all())

    wait_until(lambda: len(logged()) == 2, timeout=30, what="the prediction log rows")
    rows = {row["role"]: row for row in logged()}
    engine.dispose()
    assert set(rows) == {"champion", "challenger"}
    champion = rows["champion"]
    assert champion["probability_up"] == answer["probability_up"]
    assert champion["model_version"] == answer["model"]["version"]
    assert champion["feature_set"] == world.matrix.version
    assert to_text(champion["reference_price"]) == answer["reference_price"]
    assert champion["window_end"] == pd.Timestamp(answer["as_of"]).to_pydatetime()
    assert champion["window_start"] < champion["window_end"]
    assert rows["challenger"]["probability_up"] == answer["probability_up"]  # same version in both roles


def test_keep_alive_connections_are_recycled_without_losing_a_request(server: str) -> None:
    """Each worker closes a connection after every 20th of its requests, whatever it served before (its
    count c is 0..19): 60 answers split a + b over two workers give floor((c1 + a) / 20) +
    floor((c2 + b) / 20) closes, 2 to 4."""
    closes = 0
    with httpx.Client(base_url=server, timeout=60) as http:
        for _ in range(3 * RECYCLE_EVERY):
            response = http.post("/signal", json={"symbol": SYMBOL, "timeframe": TIMEFRAME})
            assert response.status_code == 200, response.text
            closes += response.headers.get("connection") == "close"
    assert 2 <= closes <= 4


def _samples(text: str, name: str) -> list[tuple[str, float]]:
    """(labels, value) of every sample of ``name`` in a Prometheus text exposition."""
    found = []
    for line in text.splitlines():
        if line.startswith(name + "{"):
            labels, value = line[len(name) :].rsplit(" ", 1)
            found.append((labels, float(value)))
    return found


def test_metrics_count_predictions_by_direction_and_version(server: str) -> None:
    """What the dashboards and alert rules of deploy/observability read, under these exact names."""
    answer = httpx.post(f"{server}/signal", json={"symbol": SYMBOL, "timeframe": TIMEFRAME})
    assert answer.status_code == 200, answer.text
    version, as_of = answer.json()["model"]["version"], datetime.fromisoformat(answer.json()["as_of"])
    text = httpx.get(f"{server}/metrics").text
    counted = _samples(text, "alphapulse_predictions_total")
    assert any(
        'endpoint="signal"' in labels and f'model_version="{version}"' in labels for labels, _ in counted
    )
    latency = _samples(text, "alphapulse_prediction_latency_seconds_bucket")
    assert any(f'model_version="{version}"' in labels for labels, _ in latency)
    served = [labels for labels, value in _samples(text, "alphapulse_model_info") if value == 1]
    assert any(f'model_version="{version}"' in labels and 'role="champion"' in labels for labels in served)
    assert all(value > 0 for _, value in _samples(text, "alphapulse_model_load_seconds"))
    (bar,) = [value for labels, value in _samples(text, "alphapulse_signal_bar_timestamp_seconds")]
    assert bar == as_of.timestamp()
    (published,) = [value for _, value in _samples(text, "alphapulse_signal_published_timestamp_seconds")]
    assert published <= datetime.now(UTC).timestamp()
    requests = _samples(text, "bentoml_service_request_total")
    assert any(
        'endpoint="/signal"' in labels and 'http_response_code="200"' in labels for labels, _ in requests
    )


def test_openapi_money_is_string_and_schemathesis_finds_no_server_error(server: str, tmp_path: Path) -> None:
    document = httpx.get(f"{server}/docs.json").json()
    schemas = document["components"]["schemas"]
    for name in ("open", "high", "low", "close", "volume"):
        assert schemas["CandleIn"]["properties"][name]["type"] == "string"
    assert schemas["PredictionIODescriptor"]["properties"]["reference_price"]["type"] == "string"
    assert {"/predict", "/signal", "/predict_batch", "/model", "/admin/reload"} <= set(document["paths"])
    stale = document["paths"]["/signal"]["post"]["responses"]["503"]
    assert "ALPHAPULSE_SERVING_MAX_AGE_BARS" in stale["description"]
    bodies = [body["$ref"] for body in stale["content"]["application/json"]["schema"]["anyOf"]]
    assert [ref.rsplit("/", 1)[-1] for ref in bodies] == ["StaleSignal", "UnreachableSignal"]
    assert {"bar_close_time", "age_seconds", "max_age_seconds", "reason"} <= set(
        schemas["StaleBar"]["properties"]
    )
    answer = schemas["PredictionIODescriptor"]["properties"]
    assert "bar_close_time" in answer
    assert "bar_close_time" in answer["age_seconds"]["description"]
    assert "e" in schemas["CandleIn"]["properties"]["close"]["pattern"]  # scientific notation documented
    run = subprocess.run(
        [
            str(Path(sys.executable).with_name("schemathesis")),
            "run",
            f"{server}/docs.json",
            "--checks",
            "not_a_server_error",
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            "40",
            "--seed",
            "1",
            "--workers",
            "1",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-4000:]
