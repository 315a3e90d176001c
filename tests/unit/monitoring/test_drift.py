from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alphapulse.features import FeatureMatrix, build, load_config
from alphapulse.monitoring import DriftPolicy, DriftReport, assess_drift, drift_windows, save_report
from bench.drift import amplify_volatility
from tests.support.market import recent_bundled_candles

COLUMNS = ["ret_1", "rsi_14", "vol_z"]
POLICY = DriftPolicy(recent_bars=24, reference_bars=720, share_threshold=0.5, severe_factor=2.0)
NO_NEWS = pd.DataFrame({"published_at": pd.DatetimeIndex([], tz="UTC"), "title": pd.Series(dtype=str)})


def frame(rows: int, *, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    index = pd.date_range("2024-01-01", periods=rows, freq="h", tz="UTC", name="open_time")
    data = pd.DataFrame(rng.normal(size=(rows, len(COLUMNS))), index=index, columns=COLUMNS)
    data.iloc[:20] = np.nan  # warm-up rows never enter a window
    return data


def test_current_is_the_last_bars_and_reference_the_bars_before() -> None:
    data = frame(2_000)
    windows = drift_windows(data, COLUMNS, POLICY)
    assert list(windows.current.index) == list(data.index[-24:])
    assert list(windows.reference.index) == list(data.index[-744:-24])
    assert windows.reference_source == "the 720 bars before the current window (no champion yet)"
    assert windows.missing == ()


def test_a_stale_champion_is_compared_with_the_end_of_its_training_data() -> None:
    data = frame(2_000)
    trained_until = data.index[1_000].to_pydatetime()
    windows = drift_windows(data, COLUMNS, POLICY, reference_end=trained_until, champion="3")
    assert windows.reference.index[-1] == data.index[1_000]
    assert len(windows.reference) == 720
    assert windows.reference_source == "the last 720 bars champion v3 was trained on"
    fresh = drift_windows(data, COLUMNS, POLICY, reference_end=data.index[-1], champion="4")
    assert fresh.reference.index[-1] == data.index[-25]  # never overlaps the current window
    assert "champion v4 was trained up to" in fresh.reference_source


def test_too_little_data_or_too_short_a_reference_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="more than 24 complete feature rows"):
        drift_windows(frame(40), COLUMNS, POLICY)
    with pytest.raises(ValueError, match=r"at least 240 complete reference rows .* not enough history"):
        drift_windows(frame(200), COLUMNS, POLICY)
    with pytest.raises(
        ValueError, match=r"ALPHAPULSE_DRIFT_REFERENCE_BARS \(720\) must be at least 10 times"
    ):
        DriftPolicy(recent_bars=336, reference_bars=720, share_threshold=0.5, severe_factor=2.0)


def test_columns_without_news_are_missing_data_not_drift() -> None:
    data = frame(2_000)
    rng = np.random.default_rng(1)
    data["news_count"] = rng.poisson(2.0, len(data)).astype(float)
    data.iloc[-24:, data.columns.get_loc("news_count")] = 0.0  # the feed stopped: no headline today
    data["news_decay_24h"] = 0.0  # never any coverage
    data["news_intensity_24h"] = rng.random(len(data))
    data.iloc[:1_500, data.columns.get_loc("news_intensity_24h")] = 0.0  # coverage began inside the reference
    windows = drift_windows(data, list(data.columns), POLICY)
    missing = {m.column: m.missing_in for m in windows.missing}
    assert missing == {"news_count": "current", "news_decay_24h": "both"}
    assert set(windows.compared) == {*COLUMNS, "news_intensity_24h"}
    report = assess_drift(windows, POLICY)
    covered = {c.column: c.reference_rows for c in report.columns}
    assert covered["news_intensity_24h"] == 2_000 - 24 - 1_500
    assert covered["ret_1"] == 720
    assert not report.detected
    assert report.compared == 4


def test_stationary_data_is_not_drift() -> None:
    data = frame(3_000)
    for end in range(1_000, 3_001, 250):
        report = check(data.iloc[:end], tuple(COLUMNS))
        assert not report.detected, report.reason
        assert all(c.threshold >= 0.1 for c in report.columns)


@pytest.fixture(scope="module")
def recent_btc() -> tuple[pd.DataFrame, FeatureMatrix]:
    """The bundled BTC/USDT hours of 2025-07..10 and their default features."""
    candles = recent_bundled_candles(2_400)
    return candles, build(candles, NO_NEWS, load_config())


def check(matrix_frame: pd.DataFrame, columns: tuple[str, ...]) -> DriftReport:
    return assess_drift(drift_windows(matrix_frame, columns, POLICY), POLICY)


def test_ordinary_days_of_real_data_are_not_drift(recent_btc: tuple[pd.DataFrame, FeatureMatrix]) -> None:
    _, matrix = recent_btc
    for days_back in (0, 1, 2, 3, 6, 8):
        report = check(matrix.frame.iloc[: len(matrix.frame) - 24 * days_back], matrix.feature_columns)
        assert not report.detected, (days_back, report.reason)


def test_a_rescaled_feature_is_found_within_a_day(recent_btc: tuple[pd.DataFrame, FeatureMatrix]) -> None:
    _, matrix = recent_btc
    shifted = matrix.frame.copy()
    shifted.iloc[-24:, shifted.columns.get_loc("rsi_14")] *= 2.0
    report = check(shifted, matrix.feature_columns)
    assert report.detected
    assert report.severe_columns == ("rsi_14",)


def test_a_volatility_shock_is_found_within_a_day(recent_btc: tuple[pd.DataFrame, FeatureMatrix]) -> None:
    candles, _matrix = recent_btc
    shocked = build(amplify_volatility(candles, len(candles) - 24, 10.0), NO_NEWS, load_config())
    report = check(shocked.frame, shocked.feature_columns)
    assert report.detected
    assert {"logret_1", "rvol_24"} <= set(report.drifted_columns)


def test_saved_evidently_report_shows_the_same_scores_and_thresholds(tmp_path: Path) -> None:
    data = frame(2_000)
    data.iloc[-24:, 0] *= 6.0
    windows = drift_windows(data, COLUMNS, POLICY)
    report = save_report(assess_drift(windows, POLICY), windows, out_dir=tmp_path, name="drift-x")
    assert report.detected
    assert report.severe_columns == ("ret_1",)
    assert report.html_path is not None
    assert report.html_path.stat().st_size > 10_000
    assert report.json_path is not None
    evidently = {
        m["config"]["column"]: (float(m["value"]), float(m["config"]["threshold"]), m["config"]["method"])
        for m in json.loads(report.json_path.read_text())["metrics"]
        if m["config"]["type"].endswith("ValueDrift")
    }
    for column in report.columns:
        score, threshold, method = evidently[column.column]
        assert score == pytest.approx(column.score)
        assert threshold == pytest.approx(column.threshold)
        assert method == "wasserstein"
    verdict = json.loads((tmp_path / "drift-x.verdict.json").read_text())
    assert verdict["detected"] is True
    assert verdict["severe_columns"] == ["ret_1"]
    assert datetime.fromisoformat(verdict["current_window"][1]) == data.index[-1].to_pydatetime()
    assert data.index[-1].to_pydatetime().tzinfo == UTC
