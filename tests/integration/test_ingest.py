"""Ingestion end to end on both backends: bundled data, real feeds, and failures that lose nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from alphapulse.ingest import ingest_bundled, ingest_feed
from alphapulse.quality import stored_findings
from alphapulse.sources.news import FeedError
from alphapulse.store.queries import count_candles, count_news

REPO = Path(__file__).resolve().parents[2]
FEEDS = sorted((REPO / "tests/fixtures/rss").glob("*.rss"))


@pytest.mark.slow
def test_bundled_dataset_twice_is_idempotent_and_reports_real_gaps(engine: Engine) -> None:
    first = ingest_bundled(engine)
    second = ingest_bundled(engine)
    assert first[0].inserted == 43_780
    assert (second[0].inserted, second[0].updated, second[0].unchanged) == (0, 0, 43_780)
    assert count_candles(engine) == 43_780
    gaps = [f for f in stored_findings(engine, dataset_prefix="candles:") if f.check_name == "gap"]
    assert len(gaps) == 10
    assert sum(int(f.detail.split()[0]) for f in gaps) == 20  # missing hours across the ten real gaps
    assert second[1].inserted == 0
    assert count_news(engine) == first[1].inserted == 7_524 - first[1].quarantined


def test_real_feeds_reingest_adds_nothing(engine: Engine) -> None:
    first = [ingest_feed(engine, str(path)) for path in FEEDS]
    stored = count_news(engine)
    second = [ingest_feed(engine, str(path)) for path in FEEDS]
    assert stored == sum(r.inserted for r in first) == 132
    assert sum(r.inserted + r.updated for r in second) == 0
    assert count_news(engine) == stored


def test_malformed_feed_errors_and_keeps_existing_rows(engine: Engine, tmp_path: Path) -> None:
    ingest_feed(engine, str(FEEDS[0]))
    before = count_news(engine)
    broken = tmp_path / "broken.rss"
    broken.write_bytes(FEEDS[1].read_bytes()[:5000])
    with pytest.raises(FeedError, match="not a well-formed"):
        ingest_feed(engine, str(broken))
    assert count_news(engine) == before
