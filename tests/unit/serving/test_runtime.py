"""The runtime on real objects, without a server: a SQLite store, small real model bundles in a BentoML
store of the test's own, and the latest features published as a feature build publishes them. These are
the calls ``bentos/service.py`` maps onto HTTP (the server itself: tests/integration/test_serving_*)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from bentoml._internal.configuration.containers import BentoMLContainer
from sqlalchemy import select

from alphapulse.features import (
    FeatureConfig,
    FeatureMatrix,
    build_online,
    feature_set_version,
    load_config,
    online_window_bars,
)
from alphapulse.features.latest import publish_latest
from alphapulse.serving import CandleIn, FeatureRowIn, InputError, NoFeaturesError, ServingRuntime
from alphapulse.serving.bundle import store_of
from alphapulse.serving.schemas import ModelRef
from alphapulse.settings import Settings
from alphapulse.sources.bundled import CANDLES_FILE, CANDLES_SOURCE, bundled_path
from alphapulse.sources.csv_candles import read_candle_csv
from alphapulse.sources.rows import CandleRow
from alphapulse.store import PREDICTIONS, make_engine, upgrade
from alphapulse.store.queries import candles_frame, news_frame
from tests.unit.serving.bundles import REGISTERED, SYMBOL, TIMEFRAME, export_bundle, tiny_predictor

CLIENT = "0123456789ab"


@pytest.fixture(scope="module")
def config() -> FeatureConfig:
    return load_config()


@pytest.fixture(scope="module")
def window(config: FeatureConfig) -> list[CandleRow]:
    """The last bars of the bundled candles, as many as the latest bar's features need at most."""
    _form, rows = read_candle_csv(bundled_path(CANDLES_FILE), CANDLES_SOURCE)
    return rows[-online_window_bars(config) :]


@pytest.fixture
def settings(isolated_home: Path) -> Settings:
    """Shadow scoring on, an admin key, and a maximum age that serves the bundled data's old bars."""
    settings = Settings(
        home=isolated_home,
        shadow_challenger=True,
        serving_max_age_bars=1e7,
    )
    settings.ensure_dirs()
    engine = make_engine(settings.database_url)
    upgrade(engine)
    engine.dispose()
    return settings


@pytest.fixture
def bento_store(settings: Settings) -> Iterator[Any]:
    """The BentoML store the runtime loads from (``bentoml.models``' process-wide one) under this home."""
    store = store_of(settings)
    with BentoMLContainer.model_store.patch(store):
        yield store


@pytest.fixture
def exported(bento_store: Any, settings: Settings, config: FeatureConfig) -> None:
    """Version 1 as champion and version 2 as challenger, in the store the runtime reads."""
    export_bundle(settings, config, tiny_predictor(config, seed=1), role="champion", version="1")
    export_bundle(settings, config, tiny_predictor(config, seed=2), role="challenger", version="2")


def _publish(settings: Settings, config: FeatureConfig, window: list[CandleRow]) -> None:
    """What a feature build publishes for the window's last bar (``features.publish_latest``)."""
    candles = candles_frame(window)
    frame = build_online(candles, news_frame([]), config)
    matrix = FeatureMatrix(frame, tuple(frame.columns), feature_set_version(config), 0, config)
    engine = make_engine(settings.database_url)
    publish_latest(engine, matrix, SYMBOL, candles)
    engine.dispose()


@pytest.fixture
def runtime(settings: Settings, exported: None) -> Iterator[ServingRuntime]:
    served = ServingRuntime(settings)
    yield served
    served.close()


def _logged(settings: Settings) -> pd.DataFrame:
    engine = make_engine(settings.database_url)
    with engine.connect() as connection:
        rows = pd.DataFrame(connection.execute(select(PREDICTIONS)).mappings().all())
    engine.dispose()
    return rows


def test_signal_answers_the_published_bar_as_predict_answers_its_candles_and_both_models_are_logged(
    settings: Settings, config: FeatureConfig, window: list[CandleRow], exported: None
) -> None:
    """The runtime is built after the publication, so its first read finds the bar."""
    _publish(settings, config, window)
    runtime = ServingRuntime(settings)
    try:
        assert runtime.ready
        signal = runtime.signal(SYMBOL, TIMEFRAME, client=CLIENT)
        again = runtime.signal(SYMBOL, TIMEFRAME, client=CLIENT)
        predicted = runtime.predict(SYMBOL, TIMEFRAME, _candles(window), [], client=CLIENT)
    finally:
        runtime.close()
    assert signal.model == ModelRef(name=REGISTERED, version="1", feature_set=feature_set_version(config))
    assert signal.as_of == predicted.as_of == window[-1]["open_time"]
    assert signal.reference_price == predicted.reference_price == window[-1]["close"]
    assert signal.probability_up == predicted.probability_up == again.probability_up
    assert signal.request_id != again.request_id
    logged = _logged(settings)
    assert len(logged) == 6
    by_request = logged.groupby("request_id")["role"].apply(sorted)
    assert set(by_request.index) == {signal.request_id, again.request_id, predicted.request_id}
    assert all(roles == ["challenger", "champion"] for roles in by_request)
    assert set(logged["client"]) == {CLIENT}
    answered = logged[logged["request_id"] == signal.request_id].set_index("role")
    assert answered.loc["champion", "probability_up"] == signal.probability_up
    assert answered.loc["champion", "model_version"] == "1"
    assert answered.loc["challenger", "model_version"] == "2"


def _candles(window: list[CandleRow]) -> list[CandleIn]:
    """The window as a client sends it."""
    return [
        CandleIn(
            open_time=row["open_time"],
            open=row["open"],
            high=row["high"],
            low=row["low"],
            close=row["close"],
            volume=row["volume"],
        )
        for row in window
    ]


def test_without_published_features_the_worker_is_ready_and_says_there_are_none(
    runtime: ServingRuntime,
) -> None:
    """Read and found absent counts as read: a 404 for the instrument, not an unready worker."""
    assert runtime.ready
    with pytest.raises(NoFeaturesError, match="alphapulse features build"):
        runtime.signal(SYMBOL, TIMEFRAME, client=CLIENT)


def test_status_lists_both_roles_and_a_reload_swaps_in_a_new_export(
    runtime: ServingRuntime, settings: Settings, bento_store: Any, config: FeatureConfig
) -> None:
    served = runtime.status()
    assert served.shadow
    assert [(m.role, m.mlflow_version, m.bento_tag) for m in served.models] == [
        ("champion", "1", f"{REGISTERED}:v1"),
        ("challenger", "2", f"{REGISTERED}-challenger:v2"),
    ]
    tag = export_bundle(settings, config, tiny_predictor(config, seed=3), role="champion", version="3")
    reloaded = runtime.admin_reload()
    assert [m.bento_tag for m in reloaded.models] == [tag, f"{REGISTERED}-challenger:v2"]
    assert runtime.status() == reloaded
    assert (settings.home / "serving" / "reload-requested").is_file(), "the other workers' cue"


def test_requests_no_model_serves_are_refused_by_field_and_a_batch_fails_row_by_row(
    runtime: ServingRuntime, config: FeatureConfig
) -> None:
    with pytest.raises(InputError) as symbol:
        runtime.signal("ETH/USDT", TIMEFRAME, client=CLIENT)
    assert symbol.value.field == "symbol"
    with pytest.raises(InputError) as timeframe:
        runtime.signal(SYMBOL, "4h", client=CLIENT)
    assert timeframe.value.field == "timeframe"
    values = {"logret_1": 0.004, "rsi_14": 61.0, "rvol_24": 0.012}
    rows = [
        FeatureRowIn(symbol=SYMBOL, timeframe=TIMEFRAME, features=values),
        FeatureRowIn(symbol=SYMBOL, timeframe=TIMEFRAME, features={"logret_1": 0.004}),
        FeatureRowIn(symbol="ETH/USDT", timeframe=TIMEFRAME, features=values),
    ]
    scored, missing, unknown = runtime.predict_batch(rows)
    expected = tiny_predictor(config, seed=1).predict_proba(pd.DataFrame([values]))[0]
    assert scored.probability_up == float(expected)
    assert scored.model == ModelRef(name=REGISTERED, version="1", feature_set=feature_set_version(config))
    assert missing.error == "features: missing rsi_14, rvol_24"
    assert unknown.error == "no model serves ETH/USDT 1h (served: BTC/USDT 1h)"
