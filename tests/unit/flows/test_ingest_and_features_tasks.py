"""Flow tasks called directly (``.fn``): they only call the library, so these stay fast."""

from __future__ import annotations

from pathlib import Path

from flows.features import build_symbol_features, fingerprint_task
from flows.ingest import ingest_bundled_candles_task, ingest_bundled_headlines_task, ingest_feed_task

REPO = Path(__file__).resolve().parents[3]


def test_bundled_ingestion_tasks_are_idempotent() -> None:
    first = ingest_bundled_candles_task.fn()
    again = ingest_bundled_candles_task.fn()
    assert (first.inserted, again.inserted, again.unchanged) == (43_780, 0, 43_780)
    assert ingest_bundled_headlines_task.fn().inserted == 7_496


def test_feed_task_and_fingerprint_follow_the_data(isolated_home: Path) -> None:
    ingest_bundled_candles_task.fn()
    before = fingerprint_task.fn("binance", "BTC/USDT", "1h")
    assert fingerprint_task.fn("binance", "BTC/USDT", "1h") == before
    report = ingest_feed_task.fn(str(REPO / "tests/fixtures/rss/theblock.rss"))
    assert report.inserted == 19
    assert fingerprint_task.fn("binance", "BTC/USDT", "1h") != before
    built = build_symbol_features.fn(
        "binance", "BTC/USDT", "1h", fingerprint_task.fn("binance", "BTC/USDT", "1h")
    )
    assert built.rows == 43_780
    assert built.path.is_relative_to(isolated_home)
