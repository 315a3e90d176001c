"""Ingestion end to end on both backends: bundled data, real feeds and exports, and failures that lose
nothing: unreadable rows quarantined, stored bars never changed silently."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from alphapulse.pipeline.ingest import ingest_bundled, ingest_csv, ingest_feed, store_candles
from alphapulse.quality import stored_findings
from alphapulse.sources.csv_candles import CandleCsvError, CsvSource, read_candles
from alphapulse.sources.news import FeedError
from alphapulse.store import CANDLE_CORRECTIONS, CANDLES
from alphapulse.store.queries import count_candles, count_news

REPO = Path(__file__).resolve().parents[2]
FEEDS = sorted((REPO / "tests/fixtures/rss").glob("*.rss"))
BUNDLED = REPO / "src/alphapulse/data/ohlcv/binance_btcusdt_1h_2020-10_2025-10.csv.gz"
SOURCE = CsvSource("binance", "BTC/USDT", "1h")
BAR = datetime(2020, 10, 11, 22, tzinfo=UTC)  # close 11353.86 in the bundled data


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


def _bundled_slice(tmp_path: Path, name: str, *, close: str = "11353.86") -> Path:
    """The first 120 bundled bars; ``close`` rewrites the 2020-10-11 22:00 bar's close."""
    with gzip.open(BUNDLED, "rt") as handle:
        lines = [next(handle) for _ in range(121)]
    path = tmp_path / name
    path.write_text("".join(lines).replace(",11353.86,", f",{close},"))
    return path


def _stored_close(engine: Engine, moment: datetime) -> Decimal:
    with engine.connect() as connection:
        return connection.execute(select(CANDLES.c.close).where(CANDLES.c.open_time == moment)).scalar_one()


def test_a_differing_reimport_is_quarantined_then_applied_only_on_request(
    engine: Engine, tmp_path: Path
) -> None:
    first = ingest_csv(engine, _bundled_slice(tmp_path, "original.csv"), SOURCE)
    assert first.inserted == 120
    changed = _bundled_slice(tmp_path, "changed.csv", close="11298.73")

    refused = ingest_csv(engine, changed, SOURCE, run_id="refused")
    assert (refused.inserted, refused.updated, refused.unchanged) == (0, 0, 119)
    assert (refused.quarantined, refused.conflicts, refused.corrected) == (1, 1, 0)
    assert _stored_close(engine, BAR) == Decimal("11353.86")  # the stored bar is untouched
    (conflict,) = [f for f in stored_findings(engine) if f.check_name == "stored_conflict"]
    kept = json.loads(conflict.row_json)
    assert (kept["stored"]["close"], kept["incoming"]["close"]) == ("11353.86", "11298.73")
    assert (conflict.quarantined, conflict.run_id) == (True, "refused")

    applied = ingest_csv(engine, changed, SOURCE, run_id="fix-1", correct=True)
    assert (applied.updated, applied.corrected, applied.conflicts, applied.quarantined) == (1, 1, 0, 0)
    assert _stored_close(engine, BAR) == Decimal("11298.73")
    with engine.connect() as connection:
        (audit,) = connection.execute(select(CANDLE_CORRECTIONS)).mappings()
    assert (audit["open_time"], audit["old_close"], audit["new_close"]) == (
        BAR,
        Decimal("11353.86"),
        Decimal("11298.73"),
    )
    assert (audit["old_low"], audit["new_low"], audit["run_id"]) == (
        Decimal("11298.73"),
        Decimal("11298.73"),
        "fix-1",
    )
    assert not [f for f in stored_findings(engine) if f.check_name == "stored_conflict"]  # settled

    again = ingest_csv(engine, changed, SOURCE, correct=True)
    assert (again.unchanged, again.corrected) == (120, 0)


def test_every_source_through_store_candles_is_guarded(engine: Engine) -> None:
    rows = read_candles(REPO / "tests/fixtures/csv/cdd_binance_btcusdt_1h_2021.csv", SOURCE).rows
    store_candles(engine, rows, run_id="csv")
    page = [dict(row) for row in rows[:3]]  # as an exchange page would bring them back, one bar revised
    page[1]["volume"] = Decimal("4701.451280")
    report = store_candles(engine, page, run_id="exchange")  # type: ignore[arg-type]
    assert (report.conflicts, report.unchanged, report.updated) == (1, 2, 0)


def test_unreadable_rows_are_quarantined_and_the_rest_lands(engine: Engine, tmp_path: Path) -> None:
    lines = (REPO / "tests/fixtures/csv/binance_vision_btcusdt_um_1m_2021-01.csv").read_text().splitlines()
    lines[3] = lines[3][:25]
    lines[6] = lines[6].replace("28963.07", "1e400", 1)
    path = tmp_path / "BTCUSDT-1m-2021-01.csv"
    path.write_text("\n".join(["", *lines]) + "\n")
    source = CsvSource("binance", "BTC/USDT:USDT", "1m")
    report = ingest_csv(engine, path, source)
    assert (report.received, report.inserted, report.quarantined) == (25, 23, 2)
    assert count_candles(engine) == 23
    unreadable = {f.row_key: f for f in stored_findings(engine) if f.check_name == "unreadable_row"}
    assert sorted(unreadable) == ["BTCUSDT-1m-2021-01.csv:5", "BTCUSDT-1m-2021-01.csv:8"]
    short = unreadable["BTCUSDT-1m-2021-01.csv:5"]
    assert short.detail.startswith(f"{path}: line 5: ")
    assert json.loads(short.row_json)["text"] == lines[3]


def test_strict_stores_nothing(engine: Engine, tmp_path: Path) -> None:
    lines = (REPO / "tests/fixtures/csv/cdd_bitstamp_btcusd_1h_2022.csv").read_text().splitlines()
    lines[20] = lines[20].replace("BTC/USD,", "BTC/USD,x", 1)
    path = tmp_path / "Bitstamp_BTCUSD_1h.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(CandleCsvError, match=rf"^{path}: line 21: open: 'x"):
        ingest_csv(engine, path, CsvSource("bitstamp", "BTC/USD", "1h"), strict=True)
    assert count_candles(engine) == 0
    assert stored_findings(engine) == []
