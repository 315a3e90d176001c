from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from alphapulse.sources.news import (
    FeedError,
    canonical_url,
    feed_source_name,
    news_id,
    parse_feed,
    read_headline_dataset,
)

REPO = Path(__file__).resolve().parents[3]
FEEDS = sorted((REPO / "tests/fixtures/rss").glob("*.rss"))
EXPECTED_ITEMS = {"coindesk.rss": 25, "coingtelegraph-all.rss": 30, "decrypt.rss": 58, "theblock.rss": 19}


@pytest.mark.parametrize("path", FEEDS, ids=lambda p: p.name)
def test_real_feeds_parse_with_utc_dates(path: Path) -> None:
    content = path.read_bytes()
    parsed = parse_feed(content, source=feed_source_name(str(path), content))
    assert len(parsed.rows) + len(parsed.undated) == EXPECTED_ITEMS[path.name]
    assert parsed.rows
    for row in parsed.rows:
        assert row["published_at"].tzinfo == UTC
        assert row["title"]
        assert len(row["id"]) == 64
    assert len({r["id"] for r in parsed.rows}) == len(parsed.rows)


def test_offset_dates_are_normalized_to_utc() -> None:
    feed = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
    <item><title>a</title><link>https://x.test/a</link><pubDate>Mon, 01 Jan 2024 02:00:00 +0200</pubDate></item>
    <item><title>b</title><link>https://x.test/b</link><pubDate>sometime soon</pubDate></item>
    </channel></rss>"""
    parsed = parse_feed(feed, source="t")
    assert parsed.rows[0]["published_at"] == datetime(2024, 1, 1, tzinfo=UTC)
    assert len(parsed.undated) == 1
    assert parsed.undated[0]["title"] == "b"


def test_malformed_feed_is_a_clear_error() -> None:
    with pytest.raises(FeedError, match="not a well-formed"):
        parse_feed(b"<rss><channel><item><title>broken", source="broken")


def test_identity_prefers_guid_then_canonical_url() -> None:
    assert news_id("g-1", "https://a.test/x") == news_id("g-1", "https://b.test/y")
    assert news_id(None, "HTTPS://A.test/x/?utm_source=t&b=2&a=1#frag") == news_id(
        None, "https://a.test/x?a=1&b=2"
    )
    assert canonical_url("https://A.test/x/?utm_medium=m") == "https://a.test/x"
    with pytest.raises(ValueError, match="neither guid nor url"):
        news_id(None, None)


def test_bundled_headlines() -> None:
    rows = read_headline_dataset(REPO / "src/alphapulse/data/news/cryptonews_2021-10_2022-07.csv.gz")
    assert len(rows) == 7_524
    assert len({r["id"] for r in rows}) == 7_524
    assert rows[0]["published_at"] == datetime(2022, 7, 5, 4, 24, tzinfo=UTC)
