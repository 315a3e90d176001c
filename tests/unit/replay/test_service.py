"""The command's options: which files, the bundled default, when the replay begins, planned faults."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alphapulse.cli import app
from alphapulse.replay import ReplayOptions, build_market, parse_fault, parse_file_option
from alphapulse.replay.service import load_series
from alphapulse.sources.rows import from_epoch_ms, to_epoch_ms

REPO = Path(__file__).resolve().parents[3]
BUNDLED_END = datetime(2025, 10, 6, 18, tzinfo=UTC)  # the last bundled bar opens at 17:00


def small_csv(path: Path, *, rows: int = 3) -> Path:
    lines = ["timestamp,open,high,low,close,volume"]
    lines += [f"2025-09-01 {h:02d}:00:00,2.5,3,2,2.75,10.125" for h in range(rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_file_options_are_symbol_equals_path() -> None:
    assert parse_file_option("ETH/USDT=data/eth.csv") == ("ETH/USDT", Path("data/eth.csv"))
    with pytest.raises(ValueError, match=r"csv: 'eth\.csv' is not SYMBOL=FILE"):
        parse_file_option("eth.csv")


def test_fault_options_are_request_number_equals_kind() -> None:
    assert parse_fault("3=500") == (3, "500")
    for bad in ("0=500", "x=500", "3=teapot"):
        with pytest.raises(ValueError, match="is not N=KIND"):
            parse_fault(bad)


def test_times_are_iso_and_a_bad_one_is_named() -> None:
    options = ReplayOptions.parse(
        csv=[], start="2025-09-01T00:00Z", speed=180, origin=None, shift_to_now=False, fault=["2=429"]
    )
    assert options.start == datetime(2025, 9, 1, tzinfo=UTC)
    assert options.faults == {2: "429"}
    with pytest.raises(ValueError, match="start: 'tomorrow' is not an ISO time"):
        ReplayOptions.parse(csv=[], start="tomorrow", speed=1, origin=None, shift_to_now=False, fault=[])


def test_the_bundled_candles_are_served_beside_other_files_unless_replaced(tmp_path: Path) -> None:
    eth = small_csv(tmp_path / "eth.csv")
    assert [s.symbol for s in load_series([])] == ["BTC/USDT"]
    assert [s.symbol for s in load_series([("ETH/USDT", eth)])] == ["BTC/USDT", "ETH/USDT"]
    (only,) = load_series([("BTC/USDT", eth)])
    assert len(only.bars) == 3
    with pytest.raises(ValueError, match="ETH/USDT given more than once"):
        load_series([("ETH/USDT", eth), ("ETH/USDT", eth)])


def test_without_start_the_replay_begins_a_week_before_the_recording_ends() -> None:
    wall = to_epoch_ms(datetime(2030, 1, 1, tzinfo=UTC))
    market = build_market(ReplayOptions(speed=0), wall=lambda: wall)
    assert from_epoch_ms(market.clock.now()) == BUNDLED_END - timedelta(days=7)


def test_shift_to_now_uses_the_grid_of_every_file(tmp_path: Path) -> None:
    wall = to_epoch_ms(datetime(2030, 1, 1, 0, 7, 30, tzinfo=UTC))
    minutes = tmp_path / "minutes.csv"
    minutes.write_text(
        "timestamp,open,high,low,close,volume\n2025-09-01 00:00,1,1,1,1,1\n2025-09-01 00:01,1,1,1,1,1\n"
    )
    options = ReplayOptions(
        files=[("ETH/USDT", minutes)], start=datetime(2025, 9, 1, tzinfo=UTC), shift_to_now=True
    )
    market = build_market(options, wall=lambda: wall)
    assert market.clock.now() == wall
    assert market.clock.shift_ms % 3_600_000 == 0  # whole hours, so the hourly BTC/USDT stays on its grid


def test_the_command_names_a_bad_option_and_starts_nothing(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["replay-exchange", "--csv", f"ETH/USDT={tmp_path / 'missing.csv'}"])
    assert result.exit_code == 1
    assert "missing.csv" in result.output
    result = CliRunner().invoke(app, ["replay-exchange", "--fault", "1=teapot"])
    assert result.exit_code == 1
    assert "fault: '1=teapot'" in result.output
