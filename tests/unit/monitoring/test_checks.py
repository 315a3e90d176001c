"""The monitor's checks end to end in one process: real store, real MLflow registry, Evidently reports."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pandas as pd
import pytest
from sqlalchemy import Engine, insert

from alphapulse.events import PERFORMANCE_DEGRADED
from alphapulse.features import build, load_config
from alphapulse.monitoring.drift import DriftPolicy, assess_drift, drift_windows
from alphapulse.monitoring.retrain import problems
from alphapulse.monitoring.runlog import MONITORING_EXPERIMENT
from alphapulse.pipeline.instrument import Instrument
from alphapulse.pipeline.monitor import check_drift, check_outcomes, decide_retrain
from alphapulse.settings import get_settings
from alphapulse.store import CANDLES, PREDICTIONS, ensure_schema, upsert
from alphapulse.store.queries import load_news
from tests.support.market import candle_rows, recent_bundled_candles
from tests.unit.monitoring.conftest import crown, log_row

pytestmark = pytest.mark.slow

BTC = Instrument("binance", "BTC/USDT", "1h")


def test_the_check_sees_the_values_of_a_full_build(monkeypatch: pytest.MonkeyPatch) -> None:
    """It builds features from the anchor of the first bar it needs; those equal a build of everything."""
    monkeypatch.setenv("ALPHAPULSE_DRIFT_REFERENCE_BARS", "240")
    get_settings.cache_clear()
    candles = recent_bundled_candles(4_000)
    engine = ensure_schema()
    upsert(engine, CANDLES, candle_rows(candles))
    report = check_drift(get_settings(), BTC)
    full = build(candles, load_news(engine), load_config())
    policy = DriftPolicy.from_settings(get_settings())
    expected = assess_drift(drift_windows(full.frame, full.feature_columns, policy), policy)
    assert report.columns == expected.columns
    assert report.reference_window == expected.reference_window


def test_a_stale_champion_is_compared_with_what_it_was_trained_on(store: tuple[Engine, pd.DataFrame]) -> None:
    _engine, candles = store
    trained_until = candles["open_time"].iloc[-200]
    crown([{"data_start": candles["open_time"].iloc[0].isoformat(), "data_end": trained_until.isoformat()}])
    report = check_drift(get_settings(), BTC)
    assert report.reference_window[1] == trained_until.to_pydatetime()
    assert report.reference_source == "the last 240 bars champion v1 was trained on"
    assert report.current_window[1] == candles["open_time"].iloc[-1].to_pydatetime()
    assert {m.column for m in report.missing} >= {"news_count", "news_intensity_24h"}  # no headlines stored
    assert all(m.missing_in == "both" for m in report.missing)
    assert report.compared == 30
    assert report.html_path is not None
    assert report.html_path.exists()
    runs = mlflow.search_runs(experiment_names=[MONITORING_EXPERIMENT], filter_string="tags.check = 'drift'")
    assert runs["metrics.compared_columns"].tolist() == [30.0]
    assert runs["metrics.missing_columns"].tolist() == [12.0]
    logged = {Path(a.path).name for a in mlflow.MlflowClient().list_artifacts(runs["run_id"][0], "drift")}
    saved = [report.verdict_path, report.json_path] + ([report.html_path] if report.detected else [])
    assert logged == {p.name for p in saved if p is not None}  # the MB-sized HTML only for an alarm


def test_only_the_serving_champion_is_judged_per_bar(store: tuple[Engine, pd.DataFrame]) -> None:
    engine, candles = store
    window = {
        "data_start": candles["open_time"].iloc[0].isoformat(),
        "data_end": candles["open_time"].iloc[-1].isoformat(),
    }
    old, current = crown([window, window])
    close = candles["close"].map(float).to_numpy()
    times = candles["open_time"].iloc[-40:-1].tolist()
    went_up = {t: close[len(close) - 40 + i + 1] > close[len(close) - 40 + i] for i, t in enumerate(times)}
    assert len(set(went_up.values())) == 2  # both outcomes occur among these bars
    rows = []
    for n, as_of in enumerate(times[:12]):
        right = "up" if went_up[as_of] else "down"
        wrong = "down" if went_up[as_of] else "up"
        # the current champion is right on 3 bars of 12, the old one on every bar (not judged any more)
        rows.append(log_row(f"c{n}", current, right if n % 4 == 0 else wrong, as_of))
        rows.append(log_row(f"o{n}", old, right, as_of))
    rows += [log_row(f"poll{n}", current, "up", times[0]) for n in range(500)]  # one bar polled
    with engine.begin() as connection:
        connection.execute(insert(PREDICTIONS), rows)

    check = check_outcomes(get_settings(), BTC)
    assert check.champion == current
    assert check.judged is not None
    assert (check.judged.model_version, check.judged.bars, check.judged.resolved) == (current, 12, 12)
    assert check.judged.requests == 512
    assert check.judged.accuracy == pytest.approx(3 / 12)
    assert check.degraded
    assert set(check.reports) == {f"v{current} champion"}
    runs = mlflow.search_runs(
        experiment_names=[MONITORING_EXPERIMENT], filter_string="tags.check = 'outcomes'"
    )
    assert runs["metrics.champion_live_accuracy"].tolist() == [pytest.approx(0.25)]
    assert runs[f"metrics.champion_v{old}_live_accuracy"].tolist() == [1.0]
    assert runs["metrics.champion_resolved_bars"].tolist() == [12.0]

    (problem,) = problems(None, check)
    assert problem.event == PERFORMANCE_DEGRADED
    assert problem.payload["resolved_bars"] == 12
    decision = decide_retrain(get_settings(), BTC, drift=None, outcomes=check)
    assert not decision.requested  # no Prefect API in this process: nothing received it, nothing recorded
    assert decision.message.startswith("retraining not requested")
