"""The exporter's metrics from a real store and a real MLflow: the names the alert rules and the
dashboard read (deploy/observability), with the values the monitor itself computes."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import UTC, datetime

import pandas as pd
import pytest
from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import Engine, insert

from alphapulse.monitoring.exporter import PipelineCollector, drift_metrics, outcome_metrics, store_metrics
from alphapulse.pipeline.instrument import Instrument
from alphapulse.pipeline.monitor import check_drift
from alphapulse.settings import get_settings
from alphapulse.store import PREDICTIONS, QUALITY_FINDINGS
from tests.support.processes import wait_until
from tests.unit.monitoring.conftest import NAME, crown, log_row

pytestmark = pytest.mark.slow


def _values(families: Iterable[Metric]) -> dict[str, dict[tuple[str, ...], float]]:
    """name -> {label values: value} of every sample."""
    found: dict[str, dict[tuple[str, ...], float]] = {}
    for family in families:
        for sample in family.samples:
            found.setdefault(sample.name, {})[tuple(sample.labels.values())] = sample.value
    return found


def test_bars_quarantine_and_live_outcomes_per_model_version(store: tuple[Engine, pd.DataFrame]) -> None:
    engine, candles = store
    (version,) = crown([{"data_start": "", "data_end": ""}])
    close = candles["close"].map(float).to_numpy()
    times = candles["open_time"].iloc[-13:-1].tolist()
    rows = []
    for n, as_of in enumerate(times):
        went_up = close[len(close) - 13 + n + 1] > close[len(close) - 13 + n]
        right, wrong = ("up", "down") if went_up else ("down", "up")
        rows.append(log_row(f"r{n}", version, right if n < 9 else wrong, as_of))  # right on 9 of 12
    finding = {
        "id": "f1",
        "run_id": "r",
        "dataset": "candles:binance:BTC/USDT:1h",
        "check_name": "ohlc",
        "severity": "error",
        "quarantined": True,
        "row_key": "k",
        "detail": "high below low",
        "row_json": "{}",
        "ingested_at": datetime.now(UTC),
    }
    with engine.begin() as connection:
        connection.execute(insert(PREDICTIONS), rows)
        connection.execute(insert(QUALITY_FINDINGS), [finding])

    found = _values(store_metrics(engine, get_settings()))

    source = ("binance", "BTC/USDT", "1h")
    assert found["alphapulse_bars_stored"] == {source: 1_400}
    assert found["alphapulse_last_bar_timestamp_seconds"][source] == candles["open_time"].iloc[-1].timestamp()
    assert found["alphapulse_last_ingestion_timestamp_seconds"][source] <= datetime.now(UTC).timestamp()
    assert found["alphapulse_bar_seconds"][source] == 3600
    assert found["alphapulse_bars_quarantined"] == {("candles:binance:BTC/USDT:1h",): 1}
    found = _values(outcome_metrics(engine, get_settings()))
    assert found["alphapulse_live_accuracy"] == {(NAME, "champion", version): pytest.approx(9 / 12)}
    assert found["alphapulse_live_resolved_bars"] == {(NAME, "champion", version): 12}
    assert found["alphapulse_live_accuracy_floor"] == {(): get_settings().live_accuracy_floor}
    assert found["alphapulse_live_min_outcomes"] == {(): 3}


@pytest.mark.usefixtures("store")
def test_the_latest_drift_verdict_per_model() -> None:
    before = drift_metrics(get_settings())
    assert {family.name: family.samples for family in before}["alphapulse_drift_share"] == [], "no check yet"
    report = check_drift(get_settings(), Instrument("binance", "BTC/USDT", "1h"))
    found = _values(drift_metrics(get_settings()))
    assert found["alphapulse_drift_share"] == {(NAME,): pytest.approx(report.drift_share)}
    assert found["alphapulse_drift_detected"] == {(NAME,): float(report.detected)}
    assert found["alphapulse_drift_checked_timestamp_seconds"][(NAME,)] <= datetime.now(UTC).timestamp()


def test_an_unreadable_source_is_reported_and_the_others_still_scraped() -> None:
    calls = {"store": 0}

    def store() -> list[Metric]:
        calls["store"] += 1
        return [GaugeMetricFamily("alphapulse_bars_stored", "bars", value=3)]

    def prefect() -> list[Metric]:
        raise ConnectionError("prefect-server:4200 refused")

    collector = PipelineCollector({"store": store, "prefect": prefect}, ttl=60)
    first = _values(collector.collect())
    again = _values(collector.collect())
    assert first["alphapulse_bars_stored"] == {(): 3}
    assert first["alphapulse_exporter_source_up"] == {("store",): 1, ("prefect",): 0}
    assert again == first
    assert calls["store"] == 1, "read once per TTL, however often it is scraped"


def test_in_the_background_a_scrape_never_waits_for_a_slow_source() -> None:
    """A source slower than Prometheus's scrape timeout: scrapes answer the last reading at once."""
    reads: list[int] = []
    release = threading.Event()

    def slow() -> list[Metric]:
        reads.append(len(reads) + 1)
        if len(reads) > 1:
            release.wait(10)  # the second reading hangs until the scrape is answered
        return [GaugeMetricFamily("alphapulse_bars_stored", "bars", value=reads[-1])]

    collector = PipelineCollector({"store": slow}, ttl=0.05)
    stopped = threading.Event()
    thread = collector.refresh_in_background(stopped)
    try:
        wait_until(lambda: len(reads) >= 2, timeout=10, what="a second reading under way", interval=0.05)
        scraped = _values(collector.collect())
        # The second reading is still held back: a scrape that waited for it would hang until the
        # release below, then answer 2.
        assert scraped["alphapulse_bars_stored"] == {(): 1}, "answered from the last reading"
        assert ("store",) in scraped["alphapulse_exporter_source_read_seconds"]
    finally:
        release.set()
        stopped.set()
        thread.join(timeout=5)
