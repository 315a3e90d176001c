"""Candle CSV import against real vendor exports (tests/fixtures/csv, see its README for provenance)."""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import zipfile
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from alphapulse.quality import validate_candles
from alphapulse.sources.csv_candles import CandleCsvError, CsvSource, read_candle_csv, read_candles

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "tests/fixtures/csv"
HOURLY = REPO / "src/alphapulse/data/ohlcv/binance_btcusdt_1h_2020-10_2025-10.csv.gz"
MINUTE = REPO / "src/alphapulse/data/ohlcv/binance_btcusdt_perp_1m_2022-01.csv.gz"
SOURCE = CsvSource("binance", "BTC/USDT", "1h")
USD = CsvSource("bitstamp", "BTC/USD", "1h")


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


# file, source, form, rows, first bar's time, close and (base-asset) volume, exactly as in the file
REAL_EXPORTS = [
    # CryptoDataDownload today: URL banner, unix in ms, "Volume BTC" beside "Volume USDT", tradecount
    ("cdd_binance_btcusdt_1h_2021.csv", SOURCE, "cryptodatadownload", 25, at(2021, 6, 10), "37584.76", "798.276499"),
    # CryptoDataDownload 2020: two-cell banner, "Unix Timestamp" as float seconds, 12-hour "02-PM" dates
    ("cdd_binance_btcusdt_1h_2020.csv", SOURCE, "cryptodatadownload", 25, at(2020, 9, 5, 14), "10327.06", "2751.72"),
    # CryptoDataDownload 2019 (Kraken): no unix column at all, only "2019-10-29 10-PM"
    ("cdd_kraken_btcusd_1h_2019.csv", USD, "cryptodatadownload", 25, at(2019, 10, 29, 22), "9445", "19.12"),
    # CryptoDataDownload 2020 (Coinbase): id column, CryptoCompare's volto/volfrom with swapped meanings
    ("cdd_coinbase_btcusd_1h_2020.csv", USD, "cryptodatadownload", 25, at(2020, 12, 11, 23), "18059.82", "474.02403923"),
    # CryptoDataDownload 2022 (Bitstamp): unix in seconds
    ("cdd_bitstamp_btcusd_1h_2022.csv", USD, "cryptodatadownload", 25, at(2022, 8, 20), "20963", "244.35412623"),
    # the same vendor file re-saved by a spreadsheet: no banner, day-first "13/05/2021 00:00" dates
    ("cdd_bitstamp_btcusd_1h_2021_resaved.csv", USD, "cryptodatadownload", 26, at(2021, 5, 13), "49765.4", "1281.287809"),
    # data.binance.vision dumps: 2021 without a header, 2025 with one
    ("binance_vision_btcusdt_um_1m_2021-01.csv", CsvSource("binance", "BTC/USDT:USDT", "1m"), "binance", 25,
     at(2021, 1, 1), "28991.01", "143.661"),
    ("binance_vision_btcusdt_um_1m_2025-01.csv", CsvSource("binance", "BTC/USDT:USDT", "1m"), "binance", 25,
     at(2025, 1, 1), "93599.9", "71.187"),
    # a Binance spot dump given a title row by its owner ("Opentime", "Quote asset volume", ...)
    ("binance_btcusdt_1h_2022-01_titled.csv", SOURCE, "binance", 24, at(2022, 1, 1), "46656.13", "1503.33095"),
    # Kraken's downloadable OHLCVT: no header, seconds, a volume written "1E+1"
    ("kraken_ohlcvt_xbtusd_60.csv", CsvSource("kraken", "XBT/USD", "1h"), "headerless", 25,
     at(2013, 10, 6, 21), "122", "0.1"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "source", "form", "count", "first_time", "close", "volume"),
    REAL_EXPORTS,
    ids=[case[0] for case in REAL_EXPORTS],
)
def test_real_exports_read_exactly(
    name: str, source: CsvSource, form: str, count: int, first_time: datetime, close: str, volume: str
) -> None:
    read = read_candles(FIXTURES / name, source)
    assert read.form == form
    assert read.unreadable == []
    assert len(read.rows) == count
    first = read.rows[0]
    assert (first["open_time"], first["close"], first["volume"]) == (
        first_time,
        Decimal(close),
        Decimal(volume),
    )
    checked = validate_candles(read.rows)  # every bar on the grid and OHLC-consistent: columns mapped right
    assert len(checked.accepted) == count
    assert not [f for f in checked.findings if f.quarantined]


def test_twelve_hour_clock_midnight_and_noon() -> None:
    rows = read_candles(FIXTURES / "cdd_kraken_btcusd_1h_2019.csv", USD).rows
    by_time = {r["open_time"]: r for r in rows}
    assert by_time[at(2019, 10, 29, 0)]["close"] == Decimal("9279")  # "2019-10-29 12-AM"
    assert by_time[at(2019, 10, 29, 12)]["close"] == Decimal("9412.1")  # "2019-10-29 12-PM"


def test_exponent_notation_volume_is_exact() -> None:
    rows = read_candles(FIXTURES / "kraken_ohlcvt_xbtusd_60.csv", CsvSource("kraken", "BTC/USD", "1h")).rows
    assert next(r for r in rows if r["open_time"] == at(2013, 10, 16, 15))["volume"] == Decimal(10)


def test_from_to_volumes_are_told_apart_by_their_values(tmp_path: Path) -> None:
    original = (FIXTURES / "cdd_coinbase_btcusd_1h_2020.csv").read_text()
    swapped = tmp_path / "swapped.csv"
    swapped.write_text(original.replace("volto,volfrom", "volfrom,volto"))
    assert read_candles(swapped, USD).rows[0]["volume"] == Decimal("474.02403923")


def test_bundled_hourly_file_reads_exactly() -> None:
    form, rows = read_candle_csv(HOURLY, SOURCE)
    assert form == "generic"
    assert len(rows) == 43_780
    with gzip.open(HOURLY, "rt") as handle:
        records = list(csv.DictReader(handle))
    for row, record in zip(rows, records, strict=True):
        for name in ("open", "high", "low", "close", "volume"):
            assert row[name] == Decimal(record[name])  # type: ignore[literal-required]
    assert rows[0]["open_time"] == at(2020, 10, 7, 18)


def test_bundled_minute_file_with_fractional_timestamp_text() -> None:
    form, rows = read_candle_csv(MINUTE, CsvSource("binance", "BTC/USDT:USDT", "1m"))
    assert form == "generic"
    assert len(rows) == 45_031
    assert rows[0]["open_time"] == at(2021, 12, 31, 23, 1)
    assert rows[0]["volume"] == Decimal("2300413.7295")


def _bitstamp() -> tuple[str, list[str]]:
    _banner, header, *lines = (FIXTURES / "cdd_bitstamp_btcusd_1h_2022.csv").read_text().splitlines()
    return header, lines


def _same_bars(path: Path, source: CsvSource = USD) -> None:
    expected = read_candles(FIXTURES / "cdd_bitstamp_btcusd_1h_2022.csv", USD).rows
    read = read_candles(path, source)
    assert read.unreadable == []
    assert read.rows == expected


def test_semicolons_with_decimal_commas(tmp_path: Path) -> None:
    header, lines = _bitstamp()
    path = tmp_path / "excel-de.csv"
    path.write_text("\n".join(line.replace(",", ";").replace(".", ",") for line in [header, *lines]) + "\n")
    _same_bars(path)


def test_tabs_upper_case_headers_and_crlf(tmp_path: Path) -> None:
    header, lines = _bitstamp()
    path = tmp_path / "tabs.tsv"
    path.write_bytes(
        ("\r\n".join(line.replace(",", "\t") for line in [header.upper(), *lines]) + "\r\n").encode()
    )
    _same_bars(path)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-le", "utf-16-be"])
def test_other_encodings(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / f"{encoding}.csv"
    path.write_bytes((FIXTURES / "cdd_bitstamp_btcusd_1h_2022.csv").read_text().encode(encoding))
    _same_bars(path)


def test_gzip_and_zip(tmp_path: Path) -> None:
    original = (FIXTURES / "cdd_bitstamp_btcusd_1h_2022.csv").read_bytes()
    gz = tmp_path / "Bitstamp_BTCUSD_1h.csv.gz"
    gz.write_bytes(gzip.compress(original))
    _same_bars(gz)
    archive = tmp_path / "Bitstamp_BTCUSD_1h.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("Bitstamp_BTCUSD_1h.csv", original)
    _same_bars(archive)


def test_truncated_gzip_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(gzip.compress((FIXTURES / "cdd_bitstamp_btcusd_1h_2022.csv").read_bytes())[:700])
    with pytest.raises(CandleCsvError, match=rf"{path}: truncated gzip file"):
        read_candles(path, USD)


def test_zip_with_several_files_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "two.zip"
    with zipfile.ZipFile(path, "w") as handle:
        handle.writestr("a.csv", "x")
        handle.writestr("b.csv", "y")
    with pytest.raises(CandleCsvError, match=r"exactly one \.csv file.*a\.csv, b\.csv"):
        read_candles(path, USD)


def test_binary_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "sheet.csv"
    path.write_bytes(b"\x00\x01\x02garbage\x00\xff" * 50)
    with pytest.raises(CandleCsvError, match=rf"{path}: contains NUL bytes"):
        read_candles(path, USD)


def test_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(CandleCsvError, match=r"nothere\.csv: cannot read the file"):
        read_candles(tmp_path / "nothere.csv", USD)
    (tmp_path / "empty.csv").write_bytes(b"")
    with pytest.raises(CandleCsvError, match=r"empty\.csv: the file is empty"):
        read_candles(tmp_path / "empty.csv", USD)


def _damaged(tmp_path: Path) -> Path:
    """A real dump with blank lines, a short line, a bad number, a non-UTF-8 line and a hostile value."""
    lines = (FIXTURES / "binance_vision_btcusdt_um_1m_2021-01.csv").read_bytes().splitlines()
    damaged = [
        lines[0],
        b"",
        lines[1],
        b"",
        b"",
        lines[2][:30],  # line 6: cut off
        lines[3].replace(b"29016.23", b"29O16.23", 1),  # line 7: letter O for zero, in the open
        lines[4] + b"\xe9",  # line 8: a Latin-1 byte
        lines[5].replace(b"28965.02", b"1e400", 1),  # line 9: the close overflows any decimal context
        *lines[6:],
    ]
    path = tmp_path / "BTCUSDT-1m-2021-01.csv"
    path.write_bytes(b"\n".join(damaged) + b"\n")
    return path


def test_unreadable_rows_name_file_physical_line_field_and_reason(tmp_path: Path) -> None:
    path = _damaged(tmp_path)
    read = read_candles(path, CsvSource("binance", "BTC/USDT:USDT", "1m"))
    assert len(read.rows) == 21
    problems = {u.line: u for u in read.unreadable}
    assert sorted(problems) == [6, 7, 8, 9]
    assert problems[6].describe() == (
        f"{path}: line 6: low (column 4): short line: 3 field(s) where 6 are expected "
        "(a cut-off or damaged line?)"
    )
    assert problems[7].field == "open (column 2)"
    assert problems[7].reason.startswith("'29O16.23' is not a decimal number")
    assert (problems[8].field, problems[8].reason) == ("(whole line)", "bytes that are not UTF-8 text")
    assert (problems[9].field, problems[9].reason[:8]) == ("close (column 5)", "'1e400' ")
    assert problems[6].text == lines_of(path)[5]  # kept verbatim


def lines_of(path: Path) -> list[str]:
    return path.read_text(errors="backslashreplace").splitlines()


def test_strict_aborts_on_the_first_unreadable_row(tmp_path: Path) -> None:
    path = _damaged(tmp_path)
    with pytest.raises(CandleCsvError, match=rf"^{path}: line 6: low \(column 4\): short line"):
        read_candles(path, CsvSource("binance", "BTC/USDT:USDT", "1m"), strict=True)


def test_line_numbers_count_banners_and_blank_lines(tmp_path: Path) -> None:
    banner, header, *lines = (FIXTURES / "cdd_binance_btcusdt_1h_2021.csv").read_text().splitlines()
    lines[3] = lines[3].replace("36635.70000000", "not-a-price")
    path = tmp_path / "Binance_BTCUSDT_1h.csv"
    path.write_text("\n".join([banner, "", "Data exported on request", header, "", *lines]) + "\n")
    (problem,) = read_candles(path, SOURCE).unreadable
    assert (problem.line, problem.field) == (9, "close")


def test_hostile_and_non_finite_values_are_row_problems(tmp_path: Path) -> None:
    header, lines = _bitstamp()
    lines[0] = lines[0].replace("20963.00", "NaN")
    lines[1] = lines[1].replace(",20841,", ",,")
    path = tmp_path / "hostile.csv"
    path.write_text("\n".join([header, *lines]) + "\n")
    read = read_candles(path, USD)
    assert len(read.rows) == 23
    assert [u.line for u in read.unreadable] == [2, 3]
    assert [u.field for u in read.unreadable] == ["close", "close"]
    assert read.unreadable[0].reason.startswith("'NaN' is not a decimal number")
    assert read.unreadable[1].reason.startswith("'' is not a decimal number")


def test_a_line_too_short_to_hold_the_time_is_a_row_problem(tmp_path: Path) -> None:
    banner, header, first, *lines = (FIXTURES / "cdd_coinbase_btcusd_1h_2020.csv").read_text().splitlines()
    path = tmp_path / "Coinbase_BTCUSD_1h.csv"
    path.write_text("\n".join([banner, header, first.split(",")[0], *lines]) + "\n")
    read = read_candles(path, USD)
    assert [(u.line, u.field) for u in read.unreadable] == [(3, "unix")]
    assert len(read.rows) == 24


def test_a_repeated_header_from_concatenated_dumps_is_not_a_row(tmp_path: Path) -> None:
    text = (FIXTURES / "binance_vision_btcusdt_um_1m_2025-01.csv").read_text()
    path = tmp_path / "two-months.csv"
    path.write_text(text + text.replace("1735689", "1735779"))
    read = read_candles(path, CsvSource("binance", "BTC/USDT:USDT", "1m"))
    assert (len(read.rows), read.unreadable) == (50, [])


def test_twelve_hour_slash_dates(tmp_path: Path) -> None:
    rows = read_candles(FIXTURES / "cdd_binance_btcusdt_1h_2020.csv", SOURCE).rows
    path = tmp_path / "us.csv"
    path.write_text(
        "Date,Open,High,Low,Close,Volume\n"
        + "".join(
            f"{r['open_time']:%m/%d/%Y %I:%M:%S %p},{r['open']},{r['high']},{r['low']},{r['close']},{r['volume']}\n"
            for r in rows
        )
    )
    assert read_candles(path, SOURCE).rows == rows
    assert "09/05/2020 02:00:00 PM" in path.read_text()


def test_ambiguous_day_month_dates_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "ambiguous.csv"
    path.write_text(
        "date,open,high,low,close,volume\n05/06/2021 00:00,1,1,1,1,1\n06/06/2021 00:00,1,1,1,1,1\n"
    )
    with pytest.raises(CandleCsvError, match="column 'date': dates such as '05/06/2021 00:00' could be"):
        read_candles(path, SOURCE)


def test_epoch_in_exponent_notation_is_a_row_problem(tmp_path: Path) -> None:
    header, lines = _bitstamp()
    lines[2] = "1.660946E+9" + lines[2][len("1660946400") :]
    path = tmp_path / "resaved.csv"
    path.write_text("\n".join([header, *lines]) + "\n")
    (problem,) = read_candles(path, USD).unreadable
    assert (problem.line, problem.field) == (4, "unix")
    assert "exponent notation" in problem.reason


def test_the_wrong_symbol_is_caught_by_the_volume_columns() -> None:
    with pytest.raises(CandleCsvError, match="no volume column for ETH, the base asset of ETH/USD"):
        read_candles(FIXTURES / "cdd_bitstamp_btcusd_1h_2022.csv", CsvSource("bitstamp", "ETH/USD", "1h"))


def test_header_without_a_time_column_says_so(tmp_path: Path) -> None:
    path = tmp_path / "notime.csv"
    path.write_text("open,high,low,close,volume\n1,1,1,1,1\n")
    with pytest.raises(CandleCsvError, match=r"line 1 \(header\): no time column"):
        read_candles(path, SOURCE)


def test_unknown_form_lists_the_accepted_ones(tmp_path: Path) -> None:
    path = tmp_path / "weird.csv"
    path.write_text("when,price\n2024-01-01,1\n")
    with pytest.raises(CandleCsvError) as raised:
        read_candles(path, SOURCE)
    assert "accepted forms" in str(raised.value)
    assert "no header row and no bar found" in str(raised.value)


def test_utf16_text_that_does_not_decode_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cut16.csv"
    path.write_bytes(codecs.BOM_UTF16_LE + "unix,open\n".encode("utf-16-le") + b"\x00\xd8")
    with pytest.raises(CandleCsvError, match=rf"{path}: looks like UTF-16 text but byte"):
        read_candles(path, SOURCE)


def test_headerless_damaged_first_line_is_a_row_not_a_banner(tmp_path: Path) -> None:
    lines = (FIXTURES / "kraken_ohlcvt_xbtusd_60.csv").read_text().splitlines()
    lines[0] = lines[0].replace("122.0", "?", 1)
    path = tmp_path / "XBTUSD_60.csv"
    path.write_text("\n".join(lines) + "\n")
    read = read_candles(path, CsvSource("kraken", "BTC/USD", "1h"))
    assert [(u.line, u.field) for u in read.unreadable] == [(1, "open (column 2)")]
    assert len(read.rows) == 24


def test_zip_member_is_read(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as handle:
        handle.writestr(
            "BTCUSDT-1m-2021-01.csv", (FIXTURES / "binance_vision_btcusdt_um_1m_2021-01.csv").read_text()
        )
    path = tmp_path / "BTCUSDT-1m-2021-01.zip"
    path.write_bytes(buffer.getvalue())
    read = read_candles(path, CsvSource("binance", "BTC/USDT:USDT", "1m"))
    assert (read.form, len(read.rows)) == ("binance", 25)
