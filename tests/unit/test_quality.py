from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine

from alphapulse.quality import conflict_finding, record_findings, stored_findings, validate_candles
from alphapulse.sources.rows import CandleRow, UnreadableRow
from alphapulse.store import Change

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def bar(hour: int, close: str = "100", **changes: object) -> CandleRow:
    row = CandleRow(
        exchange="binance",
        symbol="BTC/USDT",
        timeframe="1h",
        open_time=T0 + timedelta(hours=hour),
        open=Decimal(100),
        high=Decimal(130),
        low=Decimal(90),
        close=Decimal(close),
        volume=Decimal(5),
    )
    row.update(changes)  # type: ignore[typeddict-item]
    return row


def checks(rows: list[CandleRow]) -> dict[str, int]:
    found: dict[str, int] = {}
    for f in validate_candles(rows).findings:
        found[f.check] = found.get(f.check, 0) + 1
    return found


def test_clean_bars_pass() -> None:
    result = validate_candles([bar(0), bar(1), bar(2)])
    assert len(result.accepted) == 3
    assert result.findings == []


def test_ohlc_inconsistency_is_quarantined_and_the_rest_lands() -> None:
    result = validate_candles([bar(0), bar(1, high=Decimal(95)), bar(2)])
    assert [r["open_time"].hour for r in result.accepted] == [0, 2]
    (finding,) = [f for f in result.findings if f.quarantined]
    assert finding.check == "ohlc_inconsistent"
    assert finding.row["high"] == Decimal(95)


def test_negative_or_zero_prices_and_negative_volume() -> None:
    assert checks([bar(0, low=Decimal(0))]) == {"non_positive": 1}
    assert checks([bar(0, volume=Decimal(-1))]) == {"non_positive": 1}


def test_off_grid_timestamp() -> None:
    assert checks([bar(0, open_time=T0 + timedelta(minutes=30))]) == {"off_grid": 1}


def test_conflicting_duplicates_are_all_quarantined_identical_ones_collapse() -> None:
    result = validate_candles([bar(0), bar(0, close="101"), bar(1), bar(1)])
    assert [r["open_time"].hour for r in result.accepted] == [1]
    assert sorted(f.check for f in result.findings) == [
        "duplicate_conflict",
        "duplicate_conflict",
        "duplicate_identical",
    ]


def test_gaps_are_reported_including_across_runs() -> None:
    result = validate_candles([bar(5), bar(9)], previous=bar(2))
    gaps = [f for f in result.findings if f.check == "gap"]
    assert [f.detail for f in gaps] == ["2 missing bar(s)", "3 missing bar(s)"]
    assert not any(f.quarantined for f in gaps)


def test_extreme_jump_is_a_warning_only() -> None:
    result = validate_candles([bar(0), bar(1, close="125", high=Decimal(130))])
    assert [f.check for f in result.findings] == ["extreme_jump"]
    assert len(result.accepted) == 2


def test_findings_are_stored_once_per_problem(engine: Engine) -> None:
    findings = validate_candles([bar(0), bar(3), bar(4, high=Decimal(1))]).findings
    assert record_findings(engine, findings, run_id="r1") == 2
    assert record_findings(engine, findings, run_id="r2") == 0
    stored = stored_findings(engine, dataset_prefix="candles:")
    assert {f.check_name for f in stored} == {"gap", "ohlc_inconsistent"}
    assert {f.run_id for f in stored} == {"r2"}  # a finding remembers the last run that saw it
    quarantined = next(f for f in stored if f.quarantined)
    assert '"high": "1"' in quarantined.row_json


def test_both_versions_of_a_conflicting_duplicate_are_kept(engine: Engine) -> None:
    findings = validate_candles([bar(0), bar(0, close="101")]).findings
    assert record_findings(engine, findings, run_id="r1") == 2
    kept = sorted(json.loads(f.row_json)["close"] for f in stored_findings(engine))
    assert kept == ["100", "101"]


def test_unreadable_rows_are_quarantined_even_with_no_readable_row() -> None:
    problem = UnreadableRow("/data/BTCUSDT-1h.csv", 7, "close", "'abc' is not a decimal number", "1,2,3,abc")
    result = validate_candles([], unreadable=[problem], dataset="candles:binance:BTC/USDT:1h")
    (finding,) = result.findings
    assert (finding.check, finding.quarantined, finding.row_key) == (
        "unreadable_row",
        True,
        "BTCUSDT-1h.csv:7",
    )
    assert finding.detail == "/data/BTCUSDT-1h.csv: line 7: close: 'abc' is not a decimal number"
    assert finding.row["text"] == "1,2,3,abc"
    with pytest.raises(ValueError, match="need the dataset"):
        validate_candles([], unreadable=[problem])


def test_a_value_the_store_cannot_hold_is_quarantined_not_a_crash() -> None:
    huge = Decimal("1e30")
    assert checks([bar(0, high=huge, volume=huge)]) == {"not_storable": 1}


def test_a_conflict_finding_keeps_both_versions() -> None:
    stored, incoming = bar(0, close="11353.86"), bar(0, close="11298.73")
    finding = conflict_finding(
        "candles:binance:BTC/USDT:1h", Change(stored=dict(stored), incoming=dict(incoming))
    )
    assert (finding.check, finding.quarantined) == ("stored_conflict", True)
    assert finding.row["stored"]["close"] == Decimal("11353.86")
    assert finding.row["incoming"]["close"] == Decimal("11298.73")
    assert finding.row["differs"] == ["close"]
    assert "close 11353.86 -> 11298.73" in finding.detail
