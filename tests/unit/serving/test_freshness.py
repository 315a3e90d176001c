from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alphapulse.serving.errors import refusal
from alphapulse.serving.freshness import StaleBarError, bar_age, ensure_fresh, freshness_note

BAR = datetime(2025, 10, 1, 12, tzinfo=UTC)


def test_age_counts_from_the_bar_close() -> None:
    age = bar_age(BAR, "1h", BAR + timedelta(hours=1, seconds=90))
    assert age.bar_close_time == datetime(2025, 10, 1, 13, tzinfo=UTC)
    assert age.age_seconds == 90.0
    assert bar_age(BAR, "4h", BAR + timedelta(hours=4)).age_seconds == 0.0


def test_a_bar_up_to_the_maximum_age_is_served() -> None:
    closed = BAR + timedelta(hours=1)
    assert ensure_fresh("BTC/USDT", "1h", BAR, closed + timedelta(hours=2), 2).age_seconds == 7200.0
    assert ensure_fresh("BTC/USDT", "1d", BAR, BAR + timedelta(days=3), 2).age_seconds == 2 * 86400.0


def test_an_older_bar_is_refused_with_its_time_age_and_the_limit() -> None:
    now = BAR + timedelta(hours=3, seconds=1)
    with pytest.raises(StaleBarError) as raised:
        ensure_fresh("BTC/USDT", "1h", BAR, now, 2)
    stale = raised.value.stale
    assert (stale.as_of, stale.bar_close_time) == (BAR, BAR + timedelta(hours=1))
    assert (stale.age_seconds, stale.max_age_seconds) == (7201.0, 7200.0)
    assert stale.symbol == "BTC/USDT"
    assert "2025-10-01T12:00:00+00:00" in stale.reason
    assert "ALPHAPULSE_SERVING_MAX_AGE_BARS" in stale.reason
    body = refusal(StaleBarError(stale)).body.model_dump(mode="json")
    assert body["error"] == body["detail"]["error"] == "stale"
    assert body["detail"]["bar_close_time"] == "2025-10-01T13:00:00Z"


def test_the_limit_scales_with_the_timeframe_and_the_setting() -> None:
    now = BAR + timedelta(days=2)
    with pytest.raises(StaleBarError):
        ensure_fresh("BTC/USDT", "4h", BAR, now, 2)
    assert ensure_fresh("BTC/USDT", "4h", BAR, now, 12).age_seconds == 44 * 3600.0


def test_the_run_summary_says_whether_signal_will_serve_the_latest_bar() -> None:
    fresh = freshness_note(BAR, "1h", BAR + timedelta(hours=2), 2)
    assert fresh == "latest bar 2025-10-01T12:00:00+00:00 closed 1:00:00 ago: /signal serves it"
    stale = freshness_note(BAR, "1h", datetime(2026, 12, 1, tzinfo=UTC), 2)
    assert "/signal will answer 503 (stale)" in stale
    assert "ALPHAPULSE_SERVING_MAX_AGE_BARS" in stale
    assert freshness_note(None, "1h", BAR, 2) == "no stored bars: /signal has nothing to answer"
