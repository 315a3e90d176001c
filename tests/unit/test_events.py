"""What an ingestion announces to Prefect, and that prefect.yaml's features trigger listens for it."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import prefect.events
import pytest
import yaml
from prefect.settings import PREFECT_API_URL, temporary_settings
from sqlalchemy import Engine, insert

from alphapulse.events import CANDLES_STORED, announce_stored_candles, candles_resource_id
from alphapulse.pipeline.ingest import store_candles
from alphapulse.store import ONLINE_FEATURES

REPO = Path(__file__).resolve().parents[2]
START = datetime(2026, 12, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """The events handed to Prefect's client, with an API configured (as on a worker)."""
    events: list[dict[str, Any]] = []

    def emit_event(**event: Any) -> object:
        events.append(event)
        return object()

    monkeypatch.setattr(prefect.events, "emit_event", emit_event)
    with temporary_settings({PREFECT_API_URL: "http://127.0.0.1:9/api"}):
        yield events


def _bars(engine: Engine, symbol: str, count: int) -> None:
    price = Decimal("100.00")
    rows = [
        {
            "exchange": "binance",
            "symbol": symbol,
            "timeframe": "1h",
            "open_time": START + index * HOUR,
            "open": price,
            "high": price,
            "low": price,
            "close": price,
            "volume": Decimal("1"),
        }
        for index in range(count)
    ]
    store_candles(engine, rows, run_id="test")


def _featured(engine: Engine, symbol: str, bar: int) -> None:
    row = {
        "feature_set": "f1",
        "symbol": symbol,
        "timeframe": "1h",
        "bar_time": START + bar * HOUR,
        "close": Decimal("100.00"),
        "features": "{}",
        "ingested_at": datetime.now(UTC),
    }
    with engine.begin() as connection:
        connection.execute(insert(ONLINE_FEATURES).values(**row))


def test_an_ingestion_that_stored_nothing_new_and_left_nothing_behind_announces_nothing(
    engine: Engine, sent: list[dict[str, Any]]
) -> None:
    _bars(engine, "BTC/USDT", 3)
    _featured(engine, "BTC/USDT", 2)
    assert not announce_stored_candles(engine, "binance", "1h", {"BTC/USDT": 0})
    assert sent == []


def test_new_bars_and_bars_left_unfeatured_are_announced_once(
    engine: Engine, sent: list[dict[str, Any]]
) -> None:
    """ETH/USDT stored new bars; SOL/USDT none now, but an earlier run stored bars and died before
    announcing them (its features are behind); BTC/USDT is up to date."""
    for symbol in ("BTC/USDT", "ETH/USDT", "SOL/USDT"):
        _bars(engine, symbol, 3)
    _featured(engine, "BTC/USDT", 2)
    _featured(engine, "SOL/USDT", 1)
    assert announce_stored_candles(engine, "binance", "1h", {"BTC/USDT": 0, "ETH/USDT": 3, "SOL/USDT": 0})
    (event,) = sent
    assert event["event"] == CANDLES_STORED
    assert event["resource"]["prefect.resource.id"] == "alphapulse.candles.binance.1h"
    assert event["payload"]["symbols"] == ["ETH/USDT", "SOL/USDT"]
    assert event["payload"]["bars"] == {"ETH/USDT": 3}


def test_the_features_deployment_triggers_on_that_event() -> None:
    spec = yaml.safe_load((REPO / "prefect.yaml").read_text())
    (features,) = [d for d in spec["deployments"] if d["name"] == "build-features"]
    (trigger,) = features["triggers"]
    assert trigger["expect"] == [CANDLES_STORED]
    assert fnmatch.fnmatch(candles_resource_id("binance", "1h"), trigger["match"]["prefect.resource.id"])
