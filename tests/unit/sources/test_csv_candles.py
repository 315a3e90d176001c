from __future__ import annotations

import csv
import gzip
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from alphapulse.sources.csv_candles import CandleCsvError, CsvSource, parse_time, read_candle_csv

REPO = Path(__file__).resolve().parents[3]
HOURLY = REPO / "src/alphapulse/data/ohlcv/binance_btcusdt_1h_2020-10_2025-10.csv.gz"
MINUTE = REPO / "src/alphapulse/data/ohlcv/binance_btcusdt_perp_1m_2022-01.csv.gz"
SOURCE = CsvSource("binance", "BTC/USDT", "1h")


def test_bundled_hourly_file_reads_exactly() -> None:
    form, rows = read_candle_csv(HOURLY, SOURCE)
    assert form == "generic"
    assert len(rows) == 43_780
    with gzip.open(HOURLY, "rt") as handle:
        records = list(csv.DictReader(handle))
    for row, record in zip(rows, records, strict=True):
        for name in ("open", "high", "low", "close", "volume"):
            assert row[name] == Decimal(record[name])  # type: ignore[literal-required]
    assert rows[0]["open_time"] == datetime(2020, 10, 7, 18, tzinfo=UTC)


def test_bundled_minute_file_with_fractional_timestamp_text() -> None:
    form, rows = read_candle_csv(MINUTE, CsvSource("binance", "BTC/USDT:USDT", "1m"))
    assert form == "generic"
    assert len(rows) == 45_031
    assert rows[0]["open_time"] == datetime(2021, 12, 31, 23, 1, tzinfo=UTC)
    assert rows[0]["volume"] == Decimal("2300413.7295")


def test_binance_kline_export_without_header(tmp_path: Path) -> None:
    path = tmp_path / "BTCUSDT-1h-2024-01.csv"
    path.write_text(
        "1704067200000,42283.58000000,42554.57000000,42261.02000000,42475.23000000,1271.68108000,"
        "1704070799999,53957248.97378900,47134,682.57581000,28957416.81892600,0\n"
        "1704070800000000,42475.23000000,42775.00000000,42431.65000000,42613.56000000,1196.37856000,"
        "1704074399999999,51066527.66033800,43922,630.24541000,26902784.00637200,0\n"
    )
    form, rows = read_candle_csv(path, SOURCE)
    assert form == "binance"
    assert [r["open_time"].hour for r in rows] == [0, 1]
    assert rows[0]["close"] == Decimal("42475.23")


def test_cryptodatadownload_export(tmp_path: Path) -> None:
    path = tmp_path / "Binance_BTCUSDT_1h.csv"
    path.write_text(
        "https://www.CryptoDataDownload.com\n"
        "unix,date,symbol,open,high,low,close,Volume BTC,Volume USDT,tradecount\n"
        "1704070800000,2024-01-01 01:00:00,BTCUSDT,42475.23,42775.0,42431.65,42613.56,1196.37856,51066527.66,43922\n"
        "1704067200000,2024-01-01 00:00:00,BTCUSDT,42283.58,42554.57,42261.02,42475.23,1271.68108,53957248.97,47134\n"
    )
    form, rows = read_candle_csv(path, SOURCE)
    assert form == "cryptodatadownload"
    assert rows[1]["volume"] == Decimal("1271.68108")
    assert rows[0]["open_time"] == datetime(2024, 1, 1, 1, tzinfo=UTC)


def test_unknown_form_lists_the_accepted_ones(tmp_path: Path) -> None:
    path = tmp_path / "weird.csv"
    path.write_text("when,price\n2024-01-01,1\n")
    with pytest.raises(CandleCsvError) as raised:
        read_candle_csv(path, SOURCE)
    message = str(raised.value)
    for form in ("binance:", "cryptodatadownload:", "generic:"):
        assert form in message


def test_bad_value_names_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("timestamp,open,high,low,close,volume\n2024-01-01T00:00:00Z,1,2,0.5,abc,3\n")
    with pytest.raises(CandleCsvError, match=r"line 2: close: 'abc' is not a decimal number"):
        read_candle_csv(path, SOURCE)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1704067200", datetime(2024, 1, 1, tzinfo=UTC)),
        ("1704067200000", datetime(2024, 1, 1, tzinfo=UTC)),
        ("1704067200000000", datetime(2024, 1, 1, tzinfo=UTC)),
        ("2024-01-01 00:00:00", datetime(2024, 1, 1, tzinfo=UTC)),
        ("2024-01-01T02:00:00+02:00", datetime(2024, 1, 1, tzinfo=UTC)),
    ],
)
def test_time_forms(text: str, expected: datetime) -> None:
    assert parse_time(text) == expected
