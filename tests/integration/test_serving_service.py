"""The BentoML service for real: a ``bentoml serve`` process on 127.0.0.1, called over HTTP with a key.

The world and the server are the session's (tests/integration/conftest.py); who may call what, and how
often, is tested in test_serving_access.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from sqlalchemy import select

from alphapulse import __version__, decisions
from alphapulse.features import online_window_bars
from alphapulse.money import to_text
from alphapulse.pipeline.export import export_model
from alphapulse.pipeline.instrument import Instrument
from alphapulse.store import PREDICTIONS, make_engine
from alphapulse.training.registry import by_alias, registered_name
from alphapulse.training.tracking import client
from tests.integration.conftest import RECYCLE_EVERY, Server, World
from tests.support.processes import wait_until
from tests.support.served_world import SYMBOL, TIMEFRAME

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PARITY_BARS = 200


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


def test_probes_are_up_without_a_key(server: Server) -> None:
    for probe in ("healthz", "livez", "readyz", "metrics", "admitted", "docs", "docs.json"):
        assert httpx.get(f"{server.base}/{probe}").status_code == 200, probe


def test_predict_returns_the_offline_probability_bit_for_bit(world: World, server: Server) -> None:
    last = len(world.candles) - 1
    with server.client(world.token) as http:
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
    # The served version's own decision rule (its band chosen at training) makes the call.
    champion = by_alias(client(world.settings), registered_name(SYMBOL, TIMEFRAME), "champion")
    assert champion is not None
    assert signal["direction"] == decisions.call(float(world.offline[last]), champion.rule.abstain)


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
        (["candles", 5, "close"], "1e400", 422, "close: '1e400' is out of range"),
        (["candles", 5, "close"], "1e81", 422, "close: '1e81' is out of range"),
        (["candles", 5, "close"], "1e999999999", 422, "close: '1e999999999' is out of range"),
        (["candles", 5, "volume"], "1e-999999999", 422, "volume: '1e-999999999' is out of range"),
        (["candles", 5, "close"], "1e99999999999999999999", 422, "exponent is too large"),
        (["candles", 5, "close"], "1e21", 422, "close: 1000000000000000000000 does not fit"),
        (["candles", 5, "close"], " 20000", 400, "close: ' 20000' is not a decimal number"),
        (["candles", 5, "close"], "\u0662\u0660\u0660\u0660\u0660", 400, "close: "),
        (["candles", 5, "low"], "-1", 400, "is negative"),
        (["candles", 5, "high"], "1", 422, "is below low"),
        (["candles", 5, "open_time"], "2022-01-01T00:00:00", 400, "timezone"),
        (["candles", 6, "open_time"], "2020-01-01T00:00:00+00:00", 422, "candles[6].open_time"),
        (["symbol"], "ETH/USDT", 422, "symbol: no model serves ETH/USDT"),
        (["timeframe"], "4h", 422, "timeframe: no model serves"),
    ],
)
def test_bad_input_is_refused_with_the_field_and_reason(
    world: World, server: Server, path: list[Any], value: Any, status: int, says: str
) -> None:
    """400 for a value not in the documented form (a float, NaN, a sign, whitespace), 422 for one in the
    form that the service cannot use (out of range, a high below its low, an unknown instrument)."""
    body = _bad(_predict_body(world, len(world.candles) - 1), path, value)
    with server.client(world.token) as http:
        response = http.post("/predict", json=body)
    assert response.status_code == status, response.text
    refusal = response.json()
    assert says in refusal["message"]
    culprit = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path).lstrip(".")
    assert culprit.startswith(refusal["field"]), refusal  # the field, or the candle whose fields disagree


def test_duplicated_candles_and_other_media_types_are_refused(world: World, server: Server) -> None:
    body = _predict_body(world, len(world.candles) - 1)
    duplicated = {**body, "candles": [*body["candles"][:10], body["candles"][9], *body["candles"][10:]]}
    with server.client(world.token) as http:
        response = http.post("/predict", json=duplicated)
        assert response.status_code == 422
        assert response.json()["field"] == "candles[10].open_time"
        assert "duplicate bar" in response.json()["message"]
        response = http.post("/signal", content=b"symbol=x", headers={"content-type": "text/plain"})
        assert response.status_code == 415
        assert response.json()["error"] == "unsupported_media_type"


def test_predict_batch_scores_feature_rows_and_reports_bad_rows(world: World, server: Server) -> None:
    columns = list(world.matrix.feature_columns)
    frame = world.matrix.frame[columns].iloc[-50:]
    rows = [
        {"symbol": SYMBOL, "timeframe": TIMEFRAME, "features": dict(zip(columns, map(float, r), strict=True))}
        for r in frame.to_numpy()
    ]
    rows.append({"symbol": "ETH/USDT", "timeframe": TIMEFRAME, "features": {}})
    with server.client(world.token) as http:
        response = http.post("/predict_batch", json={"rows": rows})
    assert response.status_code == 200, response.text
    answers = response.json()
    assert [a["probability_up"] for a in answers[:-1]] == [float(p) for p in world.offline[-50:]]
    assert answers[-1]["probability_up"] is None
    assert "no model serves ETH/USDT" in answers[-1]["error"]


def test_reload_swaps_without_dropping_requests(world: World, server: Server) -> None:
    with server.client(world.token) as http:
        before = http.get("/models/status").json()
    assert {m["role"] for m in before["models"]} == {"champion", "challenger"}
    export_model(
        world.settings, Instrument.of(world.settings, SYMBOL, timeframe=TIMEFRAME)
    )  # a fresh bundle: the swap is observable
    statuses: list[int] = []
    stop = threading.Event()

    def hammer() -> None:
        with server.client(world.token) as http:
            while not stop.is_set():
                statuses.append(
                    http.post("/signal", json={"symbol": SYMBOL, "timeframe": TIMEFRAME}).status_code
                )

    worker = threading.Thread(target=hammer)
    worker.start()
    try:
        with server.client(world.token) as http:
            for _ in range(3):
                response = http.post("/admin/reload")
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


def test_every_answer_is_logged_for_both_roles_with_its_key(world: World, server: Server) -> None:
    with server.client(world.token) as http:
        answer = http.post("/signal", json={"symbol": SYMBOL, "timeframe": TIMEFRAME}).json()
    engine = make_engine(world.settings.database_url)

    def logged() -> list[Any]:
        with engine.connect() as connection:
            query = select(PREDICTIONS).where(PREDICTIONS.c.request_id == answer["request_id"])
            return list(connection.execute(query).mappings().all())

    wait_until(lambda: len(logged()) == 2, timeout=30, what="the prediction log rows")
    rows = {row["role"]: row for row in logged()}
    engine.dispose()
    assert set(rows) == {"champion", "challenger"}
    assert {row["client"] for row in rows.values()} == {world.key_id}
    champion = rows["champion"]
    assert champion["probability_up"] == answer["probability_up"]
    assert champion["model_version"] == answer["model"]["version"]
    assert champion["feature_set"] == world.matrix.version
    assert to_text(champion["reference_price"]) == answer["reference_price"]
    assert champion["window_end"] == pd.Timestamp(answer["as_of"]).to_pydatetime()
    assert champion["window_start"] < champion["window_end"]
    assert rows["challenger"]["probability_up"] == answer["probability_up"]  # same version in both roles


def test_keep_alive_connections_are_recycled_without_losing_a_request(world: World, server: Server) -> None:
    """Each worker closes a connection after every 20th of its requests, whatever it served before (its
    count c is 0..19): 60 answers split a + b over two workers give floor((c1 + a) / 20) +
    floor((c2 + b) / 20) closes, 2 to 4."""
    closes = 0
    with server.client(world.token) as http:
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


def test_metrics_count_predictions_by_direction_and_version(world: World, server: Server) -> None:
    """What the dashboards and alert rules of deploy/observability read, under these exact names."""
    with server.client(world.token) as http:
        answer = http.post("/signal", json={"symbol": SYMBOL, "timeframe": TIMEFRAME})
    assert answer.status_code == 200, answer.text
    version, as_of = answer.json()["model"]["version"], datetime.fromisoformat(answer.json()["as_of"])
    text = httpx.get(f"{server.base}/metrics").text
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


def test_openapi_describes_the_api_and_schemathesis_finds_no_mismatch(
    world: World, server: Server, tmp_path: Path
) -> None:
    document = httpx.get(f"{server.base}/docs.json").json()
    assert document["info"]["title"] == "AlphaPulse signals API"
    assert document["info"]["version"] == __version__
    assert {tag["name"] for tag in document["tags"]} == {
        "signals",
        "sentiment",
        "models",
        "admin",
        "infrastructure",
    }
    assert document["components"]["securitySchemes"]["ApiKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
    }
    schemas = document["components"]["schemas"]
    for name in ("open", "high", "low", "close", "volume"):
        assert schemas["CandleIn"]["properties"][name]["type"] == "string"
    assert "e" in schemas["CandleIn"]["properties"]["close"]["pattern"]  # scientific notation documented
    assert schemas["Prediction"]["properties"]["reference_price"]["type"] == "string"
    assert "bar_close_time" in schemas["Prediction"]["properties"]["age_seconds"]["description"]
    expected = {
        "/predict",
        "/signal",
        "/predict_batch",
        "/sentiment",
        "/models/status",
        "/models/performance",
        "/admin/reload",
    }
    assert expected <= set(document["paths"])
    for path, item in document["paths"].items():
        for operation in item.values():
            assert operation["tags"], path
            assert operation.get("description") or operation.get("summary"), path
            errors = {status: r for status, r in operation["responses"].items() if status[0] in "45d"}
            assert "default" in errors, path
            for response in errors.values():
                assert response["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
                assert {"error", "message"} <= set(response["content"]["application/json"]["example"])
            if path in expected:
                assert operation["security"] == [{"ApiKey": []}, {"Bearer": []}]
                assert {"401", "403", "429"} <= set(errors), path
    stale = document["paths"]["/signal"]["post"]["responses"]["503"]
    assert "ALPHAPULSE_SERVING_MAX_AGE_BARS" in stale["description"]
    assert {"bar_close_time", "age_seconds", "max_age_seconds", "reason"} <= set(
        schemas["StaleBar"]["properties"]
    )
    run = subprocess.run(
        [
            str(Path(sys.executable).with_name("schemathesis")),
            "--config-file",
            str(Path(__file__).with_name("schemathesis.toml")),
            "run",
            f"{server.base}/docs.json",
            "--checks",
            "all",
            "--header",
            f"X-API-Key: {world.token}",
            # Its own address, so the requests it sends without a key to check they are refused lock
            # out no other test's client.
            "--header",
            "X-Forwarded-For: 198.51.100.77",
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
        timeout=900,
    )
    assert run.returncode == 0, run.stdout[-6000:]
