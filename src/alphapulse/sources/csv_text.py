"""A text file's physical lines, whatever the vendor wrapped them in: gzip, zip, UTF-8 or UTF-16.

Numbering is the one an editor shows (1-based, every line counted, blank ones too), because every error
and quarantine finding names the line. A line whose bytes are not UTF-8 is kept (with the bad bytes
escaped) and flagged, so the caller can quarantine that one row instead of refusing the file. Problems
with the file as a whole (unreadable, truncated archive, undecodable UTF-16) raise ``TextFileError``
naming the file and what to do.
"""

from __future__ import annotations

import codecs
import gzip
import io
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

_GZIP_MAGIC = b"\x1f\x8b"
_ZIP_MAGIC = b"PK\x03\x04"
_LINE_BREAK = re.compile(rb"\r\n|\n|\r")
_TEXT_LINE_BREAK = re.compile(r"\r\n|\n|\r")
_SNIFF = 4096


class TextFileError(ValueError):
    """The file cannot be read as text at all; the message names the file and the reason."""


@dataclass(frozen=True)
class TextLines:
    """``lines[i]`` is physical line ``i + 1``; ``undecodable`` holds the numbers of lines not in UTF-8."""

    encoding: str
    lines: list[str]
    undecodable: frozenset[int] = field(default=frozenset())


def read_lines(path: Path) -> TextLines:
    raw = _payload(path)
    if not raw:
        raise TextFileError(f"{path}: the file is empty")
    for bom, codec in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32")):
        if raw.startswith(bom):
            return _decode_whole(path, raw, codec)
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _decode_whole(path, raw, "utf-16")
    unmarked = _unmarked_utf16(path, raw[:_SNIFF])
    if unmarked:
        return _decode_whole(path, raw, unmarked)
    return _decode_lines(raw.removeprefix(codecs.BOM_UTF8))


def _payload(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise TextFileError(f"{path}: cannot read the file: {error.strerror or error}") from error
    if raw.startswith(_GZIP_MAGIC):
        return _gunzip(path, raw)
    if raw.startswith(_ZIP_MAGIC):
        return _unzip(path, raw)
    return raw


def _gunzip(path: Path, raw: bytes) -> bytes:
    try:
        return gzip.decompress(raw)
    except EOFError as error:
        raise TextFileError(
            f"{path}: truncated gzip file: the compressed data ends before its end marker "
            "(an interrupted download or copy?); nothing was imported, fetch the file again"
        ) from error
    except (OSError, zlib.error) as error:
        raise TextFileError(f"{path}: corrupt gzip data ({error}); nothing was imported") from error


def _unzip(path: Path, raw: bytes) -> bytes:
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            members = [info for info in archive.infolist() if not info.is_dir()]
            texts = [info for info in members if info.filename.lower().endswith((".csv", ".txt"))]
            if len(texts) != 1:
                names = ", ".join(info.filename for info in members) or "none"
                raise TextFileError(
                    f"{path}: a zip archive must hold exactly one .csv file to import; it holds: {names}"
                    " (an Excel workbook? export the sheet as CSV)"
                )
            return archive.read(texts[0])
    except (zipfile.BadZipFile, EOFError, zlib.error) as error:
        raise TextFileError(
            f"{path}: truncated or corrupt zip archive ({error}); nothing was imported, fetch it again"
        ) from error


def _unmarked_utf16(path: Path, sample: bytes) -> str | None:
    """UTF-16 without a byte-order mark shows as a NUL beside every ASCII character."""
    if b"\x00" not in sample:
        return None
    even_nuls, odd_nuls = sample[0::2].count(0), sample[1::2].count(0)
    half = len(sample) // 2
    if odd_nuls > half * 0.4 and even_nuls < odd_nuls * 0.1:
        return "utf-16-le"
    if even_nuls > half * 0.4 and odd_nuls < even_nuls * 0.1:
        return "utf-16-be"
    raise TextFileError(
        f"{path}: contains NUL bytes but is not UTF-16 text: not a CSV file "
        "(a spreadsheet or other binary file?)"
    )


def _decode_whole(path: Path, raw: bytes, codec: str) -> TextLines:
    try:
        text = raw.decode(codec)
    except UnicodeDecodeError as error:
        line = raw[: error.start].decode(codec, errors="replace").count("\n")
        raise TextFileError(
            f"{path}: looks like {codec.upper()} text but byte {error.start} (near line {line + 1}) does "
            f"not decode ({error.reason}); a truncated file? Re-save it as UTF-8"
        ) from error
    lines = _TEXT_LINE_BREAK.split(text.removeprefix("\ufeff"))
    if lines and lines[-1] == "":
        lines.pop()
    return TextLines(codec, lines)


def _decode_lines(raw: bytes) -> TextLines:
    pieces = _LINE_BREAK.split(raw)
    if pieces and pieces[-1] == b"":
        pieces.pop()
    lines, undecodable = [], set()
    for number, piece in enumerate(pieces, start=1):
        try:
            lines.append(piece.decode("utf-8"))
        except UnicodeDecodeError:
            lines.append(piece.decode("utf-8", errors="backslashreplace"))
            undecodable.add(number)
    return TextLines("utf-8", lines, frozenset(undecodable))
