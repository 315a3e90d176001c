"""`alphapulse monitor` says what drifted, what was missing data instead, and what it did about it."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from alphapulse.cli import app
from alphapulse.settings import get_settings
from alphapulse.store import CANDLES, ensure_schema, upsert
from bench.drift import amplify_volatility
from tests.support.market import candle_rows, recent_bundled_candles

pytestmark = pytest.mark.slow


def test_monitor_reports_drift_missing_news_and_the_retraining_decision(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ALPHAPULSE_DRIFT_REFERENCE_BARS", "240")
    get_settings.cache_clear()
    candles = recent_bundled_candles(1_000)
    upsert(ensure_schema(), CANDLES, candle_rows(amplify_volatility(candles, len(candles) - 24, 10.0)))
    result = CliRunner().invoke(app, ["monitor"])
    assert result.exit_code == 0, result.output
    assert "DETECTED" in result.output
    assert "BTC/USDT: drift: " in result.output
    assert "BTC/USDT: reference: the 240 bars before the current window (no champion yet)" in result.output
    assert "BTC/USDT: missing data (not drift): 12 in both: news_count, " in result.output
    assert "BTC/USDT: retraining not requested: no Prefect API received the events" in result.output
