"""Bar times as vendors write them: epoch numbers of any unit, ISO-8601, and day/clock text.

A file uses one form throughout, so the form is chosen once per file from its values (``time_reader``)
and each row is then read with it; a row that does not fit the file's form is that row's problem, not
the file's. Choosing per file is also what settles day/month order: "05/06/2021" is ambiguous alone,
but a file that also holds "13/06/2021" is day-first (and with a 12-hour clock, when nothing in the
file tells, month-first as in the US). Text without a zone is UTC.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import partial

from alphapulse.timeframes import EPOCH, read_iso

_EPOCH_TEXT = re.compile(r"^[0-9]+(?:\.[0-9]+)?$")
_SAMPLE = 500
#: Epoch numbers by magnitude: below 1e11 seconds (until year 5138), below 1e14 milliseconds, below
#: 1e17 microseconds (Binance's spot dumps since 2025), else nanoseconds.
_UNIT_MICROSECONDS = ((10**11, Decimal(1_000_000)), (10**14, Decimal(1_000)), (10**17, Decimal(1)))
_NANOSECOND = Decimal("0.001")
#: Day/clock forms seen in real exports. A pair lists month-first before day-first; the file decides.
TEXT_FORMS: tuple[tuple[str, ...], ...] = (
    ("%Y-%m-%d %I-%p",),  # CryptoDataDownload until 2020: "2020-10-07 06-PM"
    ("%Y-%m-%d %I %p",),
    ("%Y-%m-%d %I:%M %p",),
    ("%Y-%m-%d %I:%M:%S %p",),
    ("%m/%d/%Y %I:%M:%S %p", "%d/%m/%Y %I:%M:%S %p"),  # "10/07/2020 06:00:00 PM"
    ("%m/%d/%Y %I:%M %p", "%d/%m/%Y %I:%M %p"),
    ("%m/%d/%Y %I %p", "%d/%m/%Y %I %p"),
    ("%m/%d/%Y %H:%M:%S", "%d/%m/%Y %H:%M:%S"),
    ("%m/%d/%Y %H:%M", "%d/%m/%Y %H:%M"),  # spreadsheet re-saves: "13/05/2021 00:00"
    ("%m/%d/%Y", "%d/%m/%Y"),
    ("%d.%m.%Y %H:%M:%S",),
    ("%d.%m.%Y %H:%M",),
    ("%d.%m.%Y",),
    ("%Y/%m/%d %H:%M:%S",),
    ("%Y/%m/%d %H:%M",),
    ("%Y/%m/%d",),
)


class TimeFormError(ValueError):
    """No single time form reads the column, or day/month order cannot be told."""


@dataclass(frozen=True)
class TimeReader:
    form: str
    read: Callable[[str], datetime]


def parse_time(text: str) -> datetime:
    """One value on its own: epoch digits, ISO-8601 or a known day/clock form (month-first if ambiguous)."""
    value = text.strip()
    for reader in _readers():
        try:
            return reader.read(value)
        except ValueError:
            continue
    raise ValueError(f"time {text!r} is neither epoch digits, ISO-8601, nor a known day/clock form")


def time_reader(values: Sequence[str]) -> TimeReader:
    """The one form that reads this column, chosen from its first values (all of them to settle day/month)."""
    sample = [v.strip() for v in values[:_SAMPLE] if v.strip()]
    if not sample:
        return TimeReader("any", parse_time)
    readers = _readers()
    scores = []
    for index, reader in enumerate(readers):
        score = sum(_fits(reader, v) for v in sample)
        if score == len(sample):
            partner = _day_first_partner(reader, readers[index + 1 :])
            if partner is None:
                return reader
            return _settle_day_month(reader, partner, [v.strip() for v in values if v.strip()])
        scores.append(score)
    best = max(range(len(readers)), key=scores.__getitem__)
    if scores[best] == 0:
        raise TimeFormError(
            f"values such as {sample[0]!r} are neither epoch numbers, ISO-8601, nor a known day/clock form "
            f"({', '.join(group[0] for group in TEXT_FORMS)})"
        )
    return readers[best]


def read_epoch(text: str) -> datetime:
    if not _EPOCH_TEXT.match(text):
        if "e" in text.lower():
            raise ValueError(
                f"epoch {text!r} is in exponent notation, which has lost digits (a spreadsheet re-save?)"
            )
        raise ValueError(f"{text!r} is not an epoch number")
    try:
        number = Decimal(text)
    except InvalidOperation as error:
        raise ValueError(f"{text!r} is not an epoch number") from error
    whole = int(number)
    factor = next((f for limit, f in _UNIT_MICROSECONDS if whole < limit), _NANOSECOND)
    microseconds = number * factor
    if microseconds != microseconds.to_integral_value():
        raise ValueError(f"epoch {text!r} is finer than a microsecond")
    return EPOCH + timedelta(microseconds=int(microseconds))


def _read_text(form: str, text: str) -> datetime:
    try:
        return datetime.strptime(text, form).replace(tzinfo=UTC)
    except ValueError as error:
        raise ValueError(f"{text!r} is not of the form {form!r}") from error


def _readers() -> list[TimeReader]:
    return [
        TimeReader("epoch", read_epoch),
        TimeReader("iso-8601", read_iso),
        *(TimeReader(form, partial(_read_text, form)) for group in TEXT_FORMS for form in group),
    ]


def _fits(reader: TimeReader, value: str) -> bool:
    try:
        reader.read(value)
    except ValueError:
        return False
    return True


def _day_first_partner(reader: TimeReader, later: list[TimeReader]) -> TimeReader | None:
    group = next((g for g in TEXT_FORMS if len(g) == 2 and g[0] == reader.form), None)
    return None if group is None else next(r for r in later if r.form == group[1])


def _settle_day_month(month_first: TimeReader, day_first: TimeReader, values: list[str]) -> TimeReader:
    month_score = sum(_fits(month_first, v) for v in values)
    day_score = sum(_fits(day_first, v) for v in values)
    if month_score != day_score:
        return month_first if month_score > day_score else day_first
    both = [v for v in values if _fits(month_first, v) and _fits(day_first, v)]
    if "%p" in month_first.form:
        return month_first  # slash dates with a 12-hour clock are the US convention: month first
    if any(month_first.read(v) != day_first.read(v) for v in both):
        raise TimeFormError(
            f"dates such as {values[0]!r} could be month/day or day/month and no value in the file tells "
            "which; re-export with ISO-8601 dates or epoch times"
        )
    return month_first
