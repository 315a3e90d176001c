"""Monitor flow tasks called directly (``.fn``): drift, outcomes and the retraining decision they feed."""

from __future__ import annotations

import pytest

from alphapulse.settings import get_settings
from alphapulse.store import CANDLES, ensure_schema, upsert
from bench.drift import amplify_volatility
from flows.monitor import drift_task, outcomes_task, retrain_task
from tests.support.market import candle_rows, recent_bundled_candles

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def short_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALPHAPULSE_DRIFT_REFERENCE_BARS", "240")
    get_settings.cache_clear()


def test_a_calm_day_asks_for_nothing_and_reports_the_missing_news() -> None:
    upsert(ensure_schema(), CANDLES, candle_rows(recent_bundled_candles(1_000)))
    drift = drift_task.fn("binance", "BTC/USDT", "1h", "data", None)
    outcomes = outcomes_task.fn("binance", "BTC/USDT", "1h")
    decision = retrain_task.fn("binance", "BTC/USDT", "1h", drift, outcomes)
    summary = drift.summary()
    assert not summary["detected"], summary["reason"]
    assert summary["compared"] == 30
    assert {m["missing_in"] for m in summary["missing_columns"]} == {"both"}
    assert len(summary["missing_columns"]) == 12
    assert outcomes.summaries == []
    assert decision.summary() == {
        "model_name": "alphapulse-btc-usdt-1h",
        "requested": False,
        "state": "not needed",
        "message": "no retraining needed",
        "reasons": [],
        "previous_request": None,
        "next_allowed": None,
    }


def test_a_volatile_day_is_drift_and_the_decision_says_nobody_listened() -> None:
    candles = recent_bundled_candles(1_000)
    upsert(ensure_schema(), CANDLES, candle_rows(amplify_volatility(candles, len(candles) - 24, 10.0)))
    drift = drift_task.fn("binance", "BTC/USDT", "1h", "data", None)
    decision = retrain_task.fn(
        "binance", "BTC/USDT", "1h", drift, outcomes_task.fn("binance", "BTC/USDT", "1h")
    )
    assert drift.detected, drift.reason
    assert [problem.reason for problem in decision.problems] == [f"drift: {drift.reason}"]
    assert decision.message.startswith("retraining not requested: no Prefect API")
