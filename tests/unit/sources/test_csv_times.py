from __future__ import annotations

from datetime import UTC, datetime

import pytest

from alphapulse.sources.csv_times import TimeFormError, parse_time, read_epoch, time_reader


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1704067200", datetime(2024, 1, 1, tzinfo=UTC)),
        ("1704067200.0", datetime(2024, 1, 1, tzinfo=UTC)),
        ("1704067200000", datetime(2024, 1, 1, tzinfo=UTC)),
        ("1704067200000000", datetime(2024, 1, 1, tzinfo=UTC)),
        ("1704067200000000000", datetime(2024, 1, 1, tzinfo=UTC)),
        ("2024-01-01 00:00:00", datetime(2024, 1, 1, tzinfo=UTC)),
        ("2024-01-01T02:00:00+02:00", datetime(2024, 1, 1, tzinfo=UTC)),
        ("2024-01-01T00:00:00Z", datetime(2024, 1, 1, tzinfo=UTC)),
        ("2020-10-07 06-PM", datetime(2020, 10, 7, 18, tzinfo=UTC)),
        ("2020-10-07 12-AM", datetime(2020, 10, 7, 0, tzinfo=UTC)),
        ("10/07/2020 06:00:00 PM", datetime(2020, 10, 7, 18, tzinfo=UTC)),
        ("10/07/2020 6:00 pm", datetime(2020, 10, 7, 18, tzinfo=UTC)),
        ("07.10.2020 18:00", datetime(2020, 10, 7, 18, tzinfo=UTC)),
    ],
)
def test_time_forms(text: str, expected: datetime) -> None:
    assert parse_time(text) == expected


def test_the_file_decides_day_or_month_first() -> None:
    day_first = time_reader(["12/05/2021 23:00", "13/05/2021 00:00"])
    assert day_first.read("12/05/2021 23:00") == datetime(2021, 5, 12, 23, tzinfo=UTC)
    month_first = time_reader(["05/12/2021 23:00", "05/13/2021 00:00"])
    assert month_first.read("05/12/2021 23:00") == datetime(2021, 5, 12, 23, tzinfo=UTC)
    with pytest.raises(TimeFormError, match="could be month/day or day/month"):
        time_reader(["05/06/2021 00:00", "06/06/2021 00:00"])


def test_one_bad_value_does_not_change_the_files_form() -> None:
    reader = time_reader(["1623283200000", "oops", "1623279600000"])
    assert reader.form == "epoch"
    with pytest.raises(ValueError, match="not an epoch number"):
        reader.read("oops")


def test_no_known_form() -> None:
    with pytest.raises(TimeFormError, match="values such as 'yesterday'"):
        time_reader(["yesterday", "today"])


@pytest.mark.parametrize(
    ("text", "reason"),
    [("1.60209E+12", "exponent notation"), ("1704067200.0000001", "finer than a microsecond")],
)
def test_epochs_that_lost_or_carry_too_many_digits(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        read_epoch(text)
