"""Candle CSV importers: Binance kline exports, CryptoDataDownload exports, and a generic form.

The form is detected from the file's first lines; values are read as text and enter ``Decimal``
through the money policy, so the file's digits are stored exactly. Files may be gzip-compressed.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

from alphapulse.sources.rows import CandleRow, candle_row, from_epoch_ms
from alphapulse.timeframes import EPOCH

ACCEPTED_FORMS = (
    "binance: Binance kline export without header, 12 columns "
    "(open_time_ms_or_us, open, high, low, close, volume, close_time, quote_volume, trades, ...)",
    "cryptodatadownload: CryptoDataDownload export, a URL line then "
    "'unix,date,symbol,open,high,low,close,Volume <BASE>,...' (newest first)",
    "generic: header 'timestamp,open,high,low,close,volume' (the time column may also be named "
    "open_time, time, date or datetime; ISO-8601 text read as UTC, or epoch s/ms/us)",
)
TIME_COLUMNS = ("timestamp", "open_time", "time", "date", "datetime")


class CandleCsvError(ValueError):
    """The file is not one of the accepted forms, or a row in it is unreadable."""


@dataclass(frozen=True)
class CsvSource:
    exchange: str
    symbol: str
    timeframe: str


def read_candle_csv(path: Path, source: CsvSource) -> tuple[str, list[CandleRow]]:
    """Detect the file's form and read every row; returns (form, rows)."""
    with _open_text(path) as handle:
        lines = handle.read().splitlines()
    if not lines:
        raise CandleCsvError(f"{path}: empty file; accepted forms:\n  " + "\n  ".join(ACCEPTED_FORMS))
    form, records = _detect(path, lines)
    rows = list(_rows(path, form, records, source))
    return form, rows


def _open_text(path: Path) -> IO[str]:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline="")
    return path.open(encoding="utf-8-sig", newline="")


def _detect(path: Path, lines: list[str]) -> tuple[str, list[dict[str, str]]]:
    first = lines[0].strip()
    if first.lower().startswith("http") or "cryptodatadownload" in first.lower():
        reader = csv.DictReader(lines[1:])
        if reader.fieldnames and {"unix", "open", "high", "low", "close"} <= {
            f.lower() for f in reader.fieldnames
        }:
            return "cryptodatadownload", [_lower_keys(r) for r in reader]
    cells = next(csv.reader([first]))
    if len(cells) == 12 and all(_is_number(c) for c in cells):
        names = ("open_time", "open", "high", "low", "close", "volume")
        return "binance", [dict(zip(names, r[:6], strict=True)) for r in csv.reader(lines) if r]
    header = {c.strip().lower() for c in cells}
    if {"open", "high", "low", "close", "volume"} <= header and header & set(TIME_COLUMNS):
        return "generic", [_lower_keys(r) for r in csv.DictReader(lines)]
    raise CandleCsvError(
        f"{path}: header {first[:120]!r} matches no accepted candle CSV form; accepted forms:\n  "
        + "\n  ".join(ACCEPTED_FORMS)
    )


def _lower_keys(record: dict[str, str]) -> dict[str, str]:
    return {(k or "").strip().lower(): (v or "").strip() for k, v in record.items()}


def _rows(path: Path, form: str, records: list[dict[str, str]], source: CsvSource) -> Iterator[CandleRow]:
    for number, record in enumerate(records, start=2 if form != "binance" else 1):
        try:
            yield _row(form, record, source)
        except (ValueError, KeyError) as error:
            raise CandleCsvError(f"{path}: line {number}: {error}") from error


def _row(form: str, record: dict[str, str], source: CsvSource) -> CandleRow:
    if form == "cryptodatadownload":
        moment, values = (
            parse_time(record["unix"]),
            {**record, "volume": record[_base_volume_key(record, source)]},
        )
    elif form == "binance":
        moment, values = parse_time(record["open_time"]), record
    else:
        time_key = next(k for k in TIME_COLUMNS if k in record)
        moment, values = parse_time(record[time_key]), record
    return candle_row(
        exchange=source.exchange,
        symbol=source.symbol,
        timeframe=source.timeframe,
        open_time=moment,
        values=values,
    )


def _base_volume_key(record: dict[str, str], source: CsvSource) -> str:
    # CryptoDataDownload names volume columns by asset ("Volume BTC", "Volume USDT"); the bar's volume
    # is the base asset's, as on every other source.
    base = source.symbol.split("/")[0].lower()
    preferred = f"volume {base}"
    if preferred in record:
        return preferred
    volumes = [k for k in record if k.startswith("volume")]
    if not volumes:
        raise KeyError("no 'Volume <asset>' column")
    return volumes[0]


def parse_time(text: str) -> datetime:
    """Epoch seconds/milliseconds/microseconds (by magnitude) or ISO-8601; text without a zone is UTC."""
    value = text.strip()
    if value.isdigit():
        number = int(value)
        if number >= 10**14:
            return EPOCH + timedelta(microseconds=number)
        return from_epoch_ms(number if number >= 10**11 else number * 1000)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        raise ValueError(f"time {text!r} is neither epoch digits nor ISO-8601") from error
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True
