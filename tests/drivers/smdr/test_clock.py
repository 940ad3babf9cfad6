"""PBX wall-clock times: site zone, missing year across New Year, 12-hour clocks."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from drivers.sources.smdr.clock import full_year, infer_date, infer_year, parse_clock, site_time
from drivers.sources.smdr.parsing import BadLine

TORONTO = ZoneInfo("America/Toronto")


@pytest.mark.parametrize(
    ("text", "hms"),
    [
        ("13:05", (13, 5, 0)),
        ("13:05:09", (13, 5, 9)),
        ("1:04PM", (13, 4, 0)),
        ("12:52PM", (12, 52, 0)),
        ("12:10AM", (0, 10, 0)),
        ("01:05p", (13, 5, 0)),
        ("9:00 AM", (9, 0, 0)),
    ],
)
def test_clock_forms(text: str, hms: tuple[int, int, int]) -> None:
    """Pins 24-hour, seconds-less, AM/PM and Mitel's trailing-p clock forms."""
    assert parse_clock(text) == hms


@pytest.mark.parametrize("text", ["25:00", "12:61", "13:00PM", "noon"])
def test_impossible_clock_is_field_impossible(text: str) -> None:
    """Pins that an impossible time raises BadLine('field_impossible')."""
    with pytest.raises(BadLine) as err:
        parse_clock(text)
    assert err.value.reason == "field_impossible"


def test_december_record_received_in_january_is_last_year() -> None:
    """Pins year inference across New Year: 12/31 23:59 read on Jan 1 is last year."""
    received = datetime(2027, 1, 1, 5, 10, tzinfo=UTC)  # 00:10 in Toronto
    got = infer_year(12, 31, (23, 59, 0), TORONTO, received)
    assert got == datetime(2027, 1, 1, 4, 59, tzinfo=UTC)
    assert got.astimezone(TORONTO).year == 2026


def test_january_record_received_on_new_years_eve_with_fast_pbx_clock() -> None:
    """Pins that a PBX clock a few minutes ahead across New Year gives next year."""
    received = datetime(2027, 1, 1, 4, 58, tzinfo=UTC)  # 23:58 Dec 31 in Toronto
    got = infer_year(1, 1, (0, 1, 0), TORONTO, received)
    assert got.astimezone(TORONTO).year == 2027


def test_february_29_goes_to_the_last_leap_year() -> None:
    """Pins that 02/29 without a year lands on a leap year, never an error."""
    received = datetime(2027, 3, 1, 12, tzinfo=UTC)
    assert infer_year(2, 29, (10, 0, 0), TORONTO, received).year == 2024


def test_dateless_time_after_midnight_is_yesterday() -> None:
    """Pins that a date-less record at 23:58 read at 00:03 is placed yesterday."""
    received = datetime(2026, 11, 24, 5, 3, tzinfo=UTC)  # 00:03 local
    got = infer_date((23, 58, 0), TORONTO, received)
    assert got.astimezone(TORONTO).day == 23


def test_site_zone_and_dst_are_applied() -> None:
    """Pins local-to-UTC conversion in summer (EDT, UTC-4) and winter (EST, UTC-5)."""
    summer = infer_year(7, 1, (12, 0, 0), TORONTO, datetime(2026, 7, 2, tzinfo=UTC))
    winter = infer_year(1, 5, (12, 0, 0), TORONTO, datetime(2026, 1, 6, tzinfo=UTC))
    assert (summer.hour, winter.hour) == (16, 17)


def test_two_digit_years() -> None:
    """Pins the century of 2-digit years: never more than a year in the future."""
    now = datetime(2026, 11, 23, tzinfo=UTC)
    assert (full_year(98, now), full_year(26, now), full_year(27, now)) == (1998, 2026, 2027)


def test_site_time_is_the_zone_conversion_of_each_receive_time() -> None:
    """Pins the kept last answer: asked again for the same receive time it answers
    the same, and another receive time or another zone is converted afresh."""
    toronto, paris = TORONTO, ZoneInfo("Europe/Paris")
    first, second = datetime(2026, 1, 1, 3, tzinfo=UTC), datetime(2026, 1, 1, 6, tzinfo=UTC)
    for received, tz in [(first, toronto), (first, toronto), (second, toronto), (second, paris)]:
        assert site_time(received, tz) == received.astimezone(tz)
        assert site_time(received, tz).tzinfo is tz
