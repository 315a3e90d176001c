"""The features ``/signal`` answers from while the store comes and goes: what a refresh keeps, and how an
instrument the store has no row for differs from one the store was never reachable to read."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from http import HTTPStatus
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete
from sqlalchemy.exc import OperationalError

from alphapulse.features import FeatureConfig, feature_set_version, load_config
from alphapulse.serving.errors import refusal
from alphapulse.serving.signals import Key, NoFeaturesError, SignalCache, StoreUnreachableError
from alphapulse.store import ONLINE_FEATURES, make_engine, upgrade, upsert

SYMBOL, OTHER = "BTC/USDT", "ETH/USDT"
BAR = datetime(2022, 6, 30, 23, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[tuple[Engine, Path]]:
    path = tmp_path / "store.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    yield engine, path
    engine.dispose()


@pytest.fixture(scope="module")
def config() -> FeatureConfig:
    return load_config()


def _key(symbol: str, config: FeatureConfig) -> Key:
    return (symbol, config.timeframe, feature_set_version(config))


def _publish(engine: Engine, key: Key, close: str) -> None:
    """The row a feature build publishes (``features.publish_latest``), with made-up feature values."""
    feature_set, (symbol, timeframe) = key[2], key[:2]
    row = {
        "feature_set": feature_set,
        "symbol": symbol,
        "timeframe": timeframe,
        "bar_time": BAR,
        "close": Decimal(close),
        "features": json.dumps({"ret_1": 0.25, "rsi_14": float("nan")}),
    }
    upsert(engine, ONLINE_FEATURES, [row])


@contextmanager
def _unreachable(engine: Engine, path: Path) -> Iterator[None]:
    """The store goes away: its connections are closed and a new one fails to open (a directory stands
    where the database file was), as connects fail while a database server is down."""
    engine.dispose()
    away = path.with_name("store.away")
    os.rename(path, away)
    path.mkdir()
    try:
        yield
    finally:
        path.rmdir()
        os.rename(away, path)


def test_a_refresh_while_the_store_is_down_keeps_the_bar_and_an_unread_instrument_is_unreachable(
    store: tuple[Engine, Path], config: FeatureConfig
) -> None:
    """A model swapped in (or a worker started) during the outage has nothing read: a 503 store
    unreachable, not a 404 claiming that no features exist, while the bar read before keeps serving."""
    engine, path = store
    served, swapped_in = _key(SYMBOL, config), _key(OTHER, config)
    _publish(engine, served, "47000.5")
    _publish(engine, swapped_in, "3100.25")
    cache = SignalCache(engine)
    cache.refresh({served: config})
    before = cache.get(*served)
    with _unreachable(engine, path):
        with pytest.raises(OperationalError):
            cache.refresh({served: config, swapped_in: config})
        assert cache.get(*served) is before
        assert not cache.covers([served, swapped_in])
        with pytest.raises(StoreUnreachableError, match="have not been read from the store") as unread:
            cache.get(*swapped_in)
        assert unread.value.unreachable.feature_set == swapped_in[2]
    cache.refresh({served: config, swapped_in: config})
    assert cache.covers([served, swapped_in])
    assert cache.get(*swapped_in).reference_price == Decimal("3100.25")


def test_a_row_gone_from_the_store_keeps_the_bar_served_so_far(
    store: tuple[Engine, Path], config: FeatureConfig
) -> None:
    """An empty read never takes a bar away: it would turn a served instrument into a 404; the bar
    turns stale (503) by itself once it is too old."""
    engine, _path = store
    key = _key(SYMBOL, config)
    _publish(engine, key, "47000.5")
    cache = SignalCache(engine)
    cache.refresh({key: config})
    with engine.begin() as connection:
        connection.execute(delete(ONLINE_FEATURES))
    cache.refresh({key: config})
    bar = cache.get(*key)
    assert bar.as_of == BAR
    assert bar.reference_price == Decimal("47000.5")


def test_only_an_instrument_the_store_answered_for_without_a_row_has_no_features(
    store: tuple[Engine, Path], config: FeatureConfig
) -> None:
    engine, _path = store
    key = _key(SYMBOL, config)
    cache = SignalCache(engine)
    with pytest.raises(StoreUnreachableError):
        cache.get(*key)
    assert not cache.covers([key])
    cache.refresh({key: config})
    assert cache.covers([key])
    with pytest.raises(NoFeaturesError, match="alphapulse features build"):
        cache.get(*key)
    _publish(engine, key, "47000.5")
    cache.refresh({key: config})
    assert cache.get(*key).as_of == BAR


def test_unread_features_answer_503_store_unreachable_and_missing_ones_404(
    store: tuple[Engine, Path], config: FeatureConfig
) -> None:
    engine, _path = store
    key = _key(SYMBOL, config)
    cache = SignalCache(engine)
    with pytest.raises(StoreUnreachableError) as unread:
        cache.get(*key)
    answer = refusal(unread.value)
    assert answer.status == HTTPStatus.SERVICE_UNAVAILABLE
    assert answer.body.error == "store_unreachable"
    assert answer.body.detail is not None
    assert answer.body.detail.symbol == SYMBOL
    cache.refresh({key: config})
    with pytest.raises(NoFeaturesError) as missing:
        cache.get(*key)
    assert refusal(missing.value).status == HTTPStatus.NOT_FOUND
