"""Candle CSV importers for real vendor exports: CryptoDataDownload (every historical layout), Binance's
public data dumps, Kraken OHLCVT downloads, and any file with a recognisable header.

The layout is found from the file itself: banner lines above the header are skipped, header names are
matched case- and punctuation-insensitively ("Unix Timestamp", "open_time", "Volume BTC" ...), the
separator is whichever of , ; tab | splits the header widest, and a file without a header is read in the
order every exchange dump uses (time, open, high, low, close, volume, ...). Values are read as text and
enter ``Decimal`` through the money policy, so the file's digits are stored exactly.

A row that cannot be read (short line, bad number, time in the wrong form, bytes that are not text) does
not stop the file: it comes back as an ``UnreadableRow`` naming file, physical line, field and reason,
for the quality step to quarantine verbatim. With ``strict=True`` the first such row aborts instead.
Problems with the file as a whole raise ``CandleCsvError``.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from alphapulse.money import MoneyError
from alphapulse.sources.csv_text import TextFileError, read_lines
from alphapulse.sources.csv_times import TimeFormError, parse_time, time_reader
from alphapulse.sources.rows import PRICE_FIELDS, CandleRow, UnreadableRow, candle_row

__all__ = [
    "ACCEPTED_FORMS",
    "CandleCsvError",
    "CsvRead",
    "CsvSource",
    "parse_time",
    "read_candle_csv",
    "read_candles",
]

ACCEPTED_FORMS = (
    "a header row (any case and punctuation; separated by , ; tab or |) naming a time column (unix, "
    "unix timestamp, timestamp, open_time, time, datetime or date), open, high, low, close, and a volume "
    "column: volume, or 'Volume <BASE>' beside 'Volume <QUOTE>' (CryptoDataDownload, Bitstamp/Kaggle "
    "'Volume_(BTC)'), or CryptoCompare's volfrom/volto; banner lines above the header are skipped",
    "no header (Binance public data dumps, Kraken OHLCVT downloads): time, open, high, low, close, "
    "volume, then any further columns",
    "times: epoch seconds, milliseconds, microseconds or nanoseconds (by magnitude), ISO-8601, or day/"
    "clock text such as '2020-10-07 06-PM', '10/07/2020 06:00:00 PM', '13/05/2021 00:00' (UTC)",
    "plain, gzip or zip (one CSV inside); UTF-8 or UTF-16",
)
#: Header names of the time column, normalized (lower case, letters and digits only), best first:
#: exact epoch numbers beat formatted dates when a file has both (CryptoDataDownload has both).
TIME_COLUMNS = (
    "unix",
    "unixtimestamp",
    "timestamp",
    "opentime",
    "time",
    "datetime",
    "date",
    "dateutc",
    "timeutc",
    "starttime",
)
_PRICE_NAMES = {name: (name, f"{name}price", f"price{name}", name[0]) for name in PRICE_FIELDS}
_BASE_VOLUME_NAMES = ("volume", "vol", "basevolume", "volumebase", "v")
#: CryptoCompare names; CryptoDataDownload's Coinbase files use them with the meanings swapped, so the
#: values decide which is the base-asset volume.
_FROM_TO_VOLUME_NAMES = ("volumefrom", "volfrom", "volumeto", "volto")
_QUOTE_WORDS = ("currency", "quote", "from", "to")
_ASSET_ALIASES = {"xbt": "btc", "xdg": "doge"}
_DELIMITERS = (",", ";", "\t", "|")
_HEADER_SEARCH_LINES = 30
_HEADERLESS_MIN_FIELDS = 6
_VOLUME_SAMPLE = 200
_DECIMAL_COMMA = re.compile(r"^-?[0-9]+,[0-9]+$")


class CandleCsvError(ValueError):
    """The file cannot be read as candles at all, or (strict) a row in it is unreadable."""


@dataclass(frozen=True)
class CsvSource:
    exchange: str
    symbol: str
    timeframe: str


@dataclass(frozen=True)
class CsvRead:
    form: str
    rows: list[CandleRow]
    unreadable: list[UnreadableRow]

    @property
    def received(self) -> int:
        return len(self.rows) + len(self.unreadable)


@dataclass(frozen=True)
class _Column:
    index: int
    name: str  # as the file calls it, for messages


@dataclass(frozen=True)
class _Layout:
    form: str
    delimiter: str
    first_line: int  # 0-based index of the first line after the header (or of the first data line)
    header: tuple[str, ...] | None  # normalized names, to recognise a repeated header
    time: _Column
    prices: dict[str, _Column]
    volumes: tuple[_Column, ...]  # one, or the from/to pair the values must settle
    width: int


@dataclass(frozen=True)
class _Record:
    line: int
    cells: list[str]
    text: str


@dataclass(frozen=True)
class _Plan:
    """How every row of one file is read."""

    layout: _Layout
    values: dict[str, _Column]  # open, high, low, close, volume
    read_time: Callable[[str], datetime]
    source: CsvSource

    @property
    def columns(self) -> list[_Column]:
        return sorted([self.layout.time, *self.values.values()], key=lambda c: c.index)


class _RowError(Exception):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def read_candle_csv(path: Path, source: CsvSource) -> tuple[str, list[CandleRow]]:
    """Read a file that must be clean (the bundled data): any unreadable row raises; returns (form, rows)."""
    read = read_candles(path, source, strict=True)
    return read.form, read.rows


def read_candles(path: Path, source: CsvSource, *, strict: bool = False) -> CsvRead:
    """Read every row of a candle file; unreadable rows come back beside the bars (or raise, if strict)."""
    try:
        text = read_lines(path)
    except TextFileError as error:
        raise CandleCsvError(str(error)) from error
    layout = _layout(path, text.lines, source)
    records = list(_records(text.lines, layout))
    if not records:
        raise CandleCsvError(f"{path}: no data rows after line {layout.first_line}")
    volume = _settle_volume(path, layout, records)
    try:
        read_time = time_reader([_cell_or_blank(r.cells, layout.time) for r in records]).read
    except TimeFormError as error:
        raise CandleCsvError(f"{path}: column {layout.time.name!r}: {error}") from error
    plan = _Plan(layout, {**layout.prices, "volume": volume}, read_time, source)
    rows: list[CandleRow] = []
    unreadable: list[UnreadableRow] = []
    for record in records:
        try:
            if record.line in text.undecodable:
                raise _RowError("(whole line)", "bytes that are not UTF-8 text")
            rows.append(_row(record, plan))
        except _RowError as problem:
            bad = UnreadableRow(str(path), record.line, problem.field, problem.reason, record.text)
            if strict:
                raise CandleCsvError(bad.describe()) from None
            unreadable.append(bad)
    return CsvRead(layout.form, rows, unreadable)


def _layout(path: Path, lines: list[str], source: CsvSource) -> _Layout:
    preamble: list[tuple[int, str]] = []
    for index, line in enumerate(lines[:_HEADER_SEARCH_LINES]):
        if not line.strip():
            continue
        delimiter = _delimiter(line)
        cells = _split(line, delimiter)
        names = [_normal(cell) for cell in cells]
        if _price_columns(names, cells) is not None:
            banner = " ".join(text for _, text in preamble)
            return _headed_layout(path, index, delimiter, names, cells, banner, source)
        if _looks_like_bar(cells):
            # Earlier lines as wide as a bar are damaged bars, not banners: read (and quarantine) them.
            damaged = [i for i, text in preamble if len(_split(text, delimiter)) >= _HEADERLESS_MIN_FIELDS]
            return _headless_layout(min([index, *damaged]), delimiter, len(cells))
        preamble.append((index, line))
    shown = next((line for line in lines if line.strip()), "")[:120]
    raise CandleCsvError(
        f"{path}: no header row and no bar found in the first {_HEADER_SEARCH_LINES} lines "
        f"(first line: {shown!r}); accepted forms:\n  " + "\n  ".join(ACCEPTED_FORMS)
    )


def _headed_layout(
    path: Path,
    index: int,
    delimiter: str,
    names: list[str],
    cells: list[str],
    banner: str,
    source: CsvSource,
) -> _Layout:
    where = f"{path}: line {index + 1} (header)"
    prices = _price_columns(names, cells)
    assert prices is not None
    time_index = next((names.index(n) for n in TIME_COLUMNS if n in names), None)
    if time_index is None:
        raise CandleCsvError(
            f"{where}: no time column; expected one named {', '.join(TIME_COLUMNS)} (any case)"
        )
    volumes = _volume_columns(names, cells, source)
    if not volumes:
        found = [cell for cell, name in zip(cells, names, strict=True) if "vol" in name] or ["none"]
        raise CandleCsvError(
            f"{where}: no volume column for {_base_asset(source.symbol).upper()}, the base asset of "
            f"{source.symbol} (volume columns here: {', '.join(found)}); check --symbol"
        )
    if "cryptodatadownload" in banner.lower() or (
        "symbol" in names and any(n.startswith("volume") for n in names)
    ):
        form = "cryptodatadownload"
    elif "opentime" in names and "closetime" in names:
        form = "binance"
    else:
        form = "generic"
    return _Layout(
        form=form,
        delimiter=delimiter,
        first_line=index + 1,
        header=tuple(names),
        time=_Column(time_index, cells[time_index].strip()),
        prices=prices,
        volumes=volumes,
        width=len(cells),
    )


def _headless_layout(index: int, delimiter: str, width: int) -> _Layout:
    names = ("time", *PRICE_FIELDS, "volume")
    columns = {name: _Column(i, f"{name} (column {i + 1})") for i, name in enumerate(names)}
    return _Layout(
        form="binance" if width == 12 else "headerless",
        delimiter=delimiter,
        first_line=index,
        header=None,
        time=columns["time"],
        prices={name: columns[name] for name in PRICE_FIELDS},
        volumes=(columns["volume"],),
        width=_HEADERLESS_MIN_FIELDS,
    )


def _price_columns(names: list[str], cells: list[str]) -> dict[str, _Column] | None:
    found = {}
    for field, aliases in _PRICE_NAMES.items():
        index = next((names.index(a) for a in aliases if a in names), None)
        if index is None:
            return None
        found[field] = _Column(index, cells[index].strip())
    return found


def _volume_columns(names: list[str], cells: list[str], source: CsvSource) -> tuple[_Column, ...]:
    def column(name: str) -> _Column:
        index = names.index(name)
        return _Column(index, cells[index].strip())

    plain = next((n for n in _BASE_VOLUME_NAMES if n in names), None)
    if plain is not None:
        return (column(plain),)
    base = _base_asset(source.symbol)
    for name in names:
        asset = name.removeprefix("volume")
        if name.startswith("volume") and asset not in _QUOTE_WORDS and _canonical(asset) == base:
            return (column(name),)
    pair = [n for n in names if n in _FROM_TO_VOLUME_NAMES]
    return tuple(column(n) for n in pair) if len(pair) == 2 else ()


def _base_asset(symbol: str) -> str:
    return _canonical(re.split(r"[/:\-_]", symbol)[0].lower())


def _canonical(asset: str) -> str:
    return _ASSET_ALIASES.get(asset, asset)


def _records(lines: list[str], layout: _Layout) -> Iterator[_Record]:
    for index in range(layout.first_line, len(lines)):
        text = lines[index]
        if not text.strip():
            continue
        cells = _split(text, layout.delimiter)
        if layout.header is not None and _repeats_header(cells, layout.header):
            continue  # the header again: files concatenated with their headers
        yield _Record(index + 1, cells, text)


def _repeats_header(cells: list[str], header: tuple[str, ...]) -> bool:
    # Bars start with a digit; only other lines pay for the comparison.
    first = cells[0].strip()[:1] if cells else ""
    return not first.isdigit() and tuple(_normal(c) for c in cells) == header


def _settle_volume(path: Path, layout: _Layout, records: list[_Record]) -> _Column:
    """The base-asset volume of a from/to pair is the one whose ratio to the other lies within the bar's
    low..high (quote volume / base volume is the bar's average price)."""
    if len(layout.volumes) == 1:
        return layout.volumes[0]
    first, second = layout.volumes
    votes = {first.index: 0, second.index: 0}
    for record in records[:_VOLUME_SAMPLE]:
        try:
            a, b, low, high = (
                Decimal(_number_text(_cell(record.cells, c), layout.delimiter))
                for c in (first, second, layout.prices["low"], layout.prices["high"])
            )
        except (_RowError, ArithmeticError):
            continue
        if a > 0 and b > 0:
            votes[first.index] += low <= b / a <= high
            votes[second.index] += low <= a / b <= high
    winner = max(votes, key=votes.__getitem__)
    total = sum(votes.values())
    if total == 0 or votes[winner] < 0.9 * total:
        raise CandleCsvError(
            f"{path}: cannot tell which of {first.name!r} and {second.name!r} is the base-asset volume "
            "(neither one's ratio to the other stays within the bars' low..high)"
        )
    return first if winner == first.index else second


def _row(record: _Record, plan: _Plan) -> CandleRow:
    cells, layout = record.cells, plan.layout
    columns = plan.columns
    if len(cells) <= columns[-1].index:
        missing = next(c for c in columns if c.index >= len(cells))
        raise _RowError(
            missing.name,
            f"short line: {len(cells)} field(s) where {max(columns[-1].index + 1, layout.width)} are "
            "expected (a cut-off or damaged line?)",
        )
    try:
        moment = plan.read_time(cells[layout.time.index].strip())
    except ValueError as error:
        raise _RowError(layout.time.name, str(error)) from None
    values = {name: cells[c.index] for name, c in plan.values.items()}
    if layout.delimiter != ",":
        values = {name: _number_text(text, layout.delimiter) for name, text in values.items()}
    try:
        return candle_row(
            exchange=plan.source.exchange,
            symbol=plan.source.symbol,
            timeframe=plan.source.timeframe,
            open_time=moment,
            values=values,
        )
    except MoneyError as error:
        column = plan.values.get(error.field)
        raise _RowError(column.name if column else error.field, error.reason) from None


def _number_text(cell: str, delimiter: str) -> str:
    text = cell.strip()
    if delimiter != "," and _DECIMAL_COMMA.match(text):
        return text.replace(",", ".")  # a semicolon/tab file from a decimal-comma locale
    return text


def _cell_or_blank(cells: list[str], column: _Column) -> str:
    return cells[column.index].strip() if column.index < len(cells) else ""


def _cell(cells: list[str], column: _Column) -> str:
    if column.index >= len(cells):
        raise _RowError(column.name, "missing")
    return cells[column.index].strip()


def _delimiter(line: str) -> str:
    return max(_DELIMITERS, key=lambda d: (len(_split(line, d)), -_DELIMITERS.index(d)))


def _split(line: str, delimiter: str) -> list[str]:
    try:
        return next(csv.reader([line], delimiter=delimiter))
    except (csv.Error, StopIteration):
        return [line]


def _normal(cell: str) -> str:
    return re.sub(r"[^a-z0-9]", "", cell.strip().lower())


def _looks_like_bar(cells: Sequence[str]) -> bool:
    if len(cells) < _HEADERLESS_MIN_FIELDS:
        return False
    try:
        parse_time(cells[0])
        for cell in cells[1:_HEADERLESS_MIN_FIELDS]:
            Decimal(cell.strip())
    except (ValueError, InvalidOperation):
        return False
    return True
