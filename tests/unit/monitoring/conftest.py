"""The monitoring tests' store and registry: real bars, tiny real models, prediction log rows."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import mlflow
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sqlalchemy import Engine

from alphapulse.settings import get_settings
from alphapulse.store import CANDLES, ensure_schema, upsert
from alphapulse.training import tracking
from alphapulse.training.registry import make_champion, register, registered_name
from tests.support.market import candle_rows, recent_bundled_candles

NAME = registered_name("BTC/USDT", "1h")


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> tuple[Engine, pd.DataFrame]:
    """1,400 real hourly bars in the configured store, with a short reference window to match."""
    monkeypatch.setenv("ALPHAPULSE_DRIFT_REFERENCE_BARS", "240")
    monkeypatch.setenv("ALPHAPULSE_LIVE_MIN_OUTCOMES", "3")
    get_settings.cache_clear()
    candles = recent_bundled_candles(1_400)
    engine = ensure_schema()
    upsert(engine, CANDLES, candle_rows(candles))
    return engine, candles


def crown(version_tags: list[dict[str, str]]) -> list[str]:
    """Register tiny real models with the recipe tags the monitor reads; the last one is champion."""
    client = tracking.client(get_settings())
    model = LogisticRegression().fit(np.array([[0.0], [1.0]]), np.array([0, 1]))
    versions = []
    for tags in version_tags:
        with mlflow.start_run():
            info = mlflow.sklearn.log_model(model, name="model")
        versions.append(register(client, NAME, info.model_uri, tags))
    make_champion(client, NAME, versions[-1])
    return versions


def log_row(request: str, version: str, direction: str, as_of: pd.Timestamp) -> dict[str, object]:
    moment = as_of.to_pydatetime()
    return {
        "request_id": request,
        "role": "champion",
        "symbol": "BTC/USDT",
        "timeframe": "1h",
        "as_of": moment,
        "window_start": moment - timedelta(hours=400),
        "window_end": moment,
        "direction": direction,
        "probability_up": 0.55 if direction == "up" else 0.45,
        "expected_return": None,
        "reference_price": Decimal("1"),
        "model_name": NAME,
        "model_version": version,
        "feature_set": "v",
        "latency_ms": 1.0,
        "created_at": moment,
    }
