"""PBX wall-clock time to UTC: site time zone, missing year, missing date, 12-hour clock.

A PBX prints local time with no zone; several families omit the year (Mitel MiVB,
NEC, Samsung) or the whole date (Mitel 5000, NEC without 35-02-14). Records are
written when a call ends, so a record's start is never much later than the moment
we receive it: the missing year (or day) is the one that puts the call at or just
before the receive time. Pure functions; `BadLine("field_impossible")` for values no
clock can show.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, tzinfo

from drivers.sources.smdr.parsing import BadLine

_AHEAD = timedelta(days=1)  # how far a PBX clock may run ahead of ours and still count
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp])?[Mm]?$")


def parse_clock(text: str) -> tuple[int, int, int]:
    """`13:05`, `13:05:09`, `1:05PM`, `01:05p`, `12:52 AM` -> (hour, minute, second)."""
    match = _CLOCK.match(text.strip())
    if not match:
        raise BadLine("field_impossible", f"time {text.strip()!r} is not a clock time")
    hour, minute = int(match[1]), int(match[2])
    second = int(match[3] or 0)
    half = (match[4] or "").lower()
    if half:
        if not 1 <= hour <= 12:
            raise BadLine("field_impossible", f"time {text.strip()!r}: hour out of range")
        hour = hour % 12 + (12 if half == "p" else 0)
    if hour > 23 or minute > 59 or second > 59:
        raise BadLine("field_impossible", f"time {text.strip()!r} out of range")
    return hour, minute, second


def full_year(two_digits: int, received_at: datetime) -> int:
    """`98` -> 1998, `24` -> 2024: the century that is not in the future."""
    century = received_at.year - received_at.year % 100
    year = century + two_digits
    return year - 100 if year > received_at.year + 1 else year


# The site's UTC offset for each local (zone, date, hour) seen. A zone lookup costs
# more than the rest of a record's time handling, and calls arrive in the same few
# hours; zones change offset on the hour, so one offset serves a whole local hour.
# An hour whose first and last second disagree is never cached (odd historical
# transitions). Bounded: cleared when full.
_offsets: dict[tuple[tzinfo, int, int, int, int], timedelta] = {}
_OFFSETS_MAX = 4096


def _hour_offset(tz: tzinfo, day: date, hour: int) -> timedelta | None:
    """The UTC offset throughout that local hour, None if it changes within it."""
    key = (tz, day.year, day.month, day.day, hour)
    offset = _offsets.get(key)
    if offset is None:
        start = datetime(day.year, day.month, day.day, hour, tzinfo=tz)
        offset = start.utcoffset()
        if offset is None or offset != start.replace(minute=59, second=59).utcoffset():
            return None
        if len(_offsets) >= _OFFSETS_MAX:
            _offsets.clear()
        _offsets[key] = offset
    return offset


def to_utc(day: date, hms: tuple[int, int, int], tz: tzinfo) -> datetime:
    """Local wall time at the site -> UTC (earlier instant when DST repeats an hour)."""
    offset = _hour_offset(tz, day, hms[0])
    if offset is None:
        return datetime(day.year, day.month, day.day, *hms, tzinfo=tz).astimezone(UTC)
    return datetime(day.year, day.month, day.day, *hms, tzinfo=UTC) - offset


def hour_to_utc(day: date, hour: int, tz: tzinfo) -> datetime | None:
    """Local `hour`:00:00 -> UTC when the whole hour has one offset (so any minute and
    second of it can be added), else None."""
    offset = _hour_offset(tz, day, hour)
    if offset is None:
        return None
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC) - offset


# Years a PBX record may carry (a clock reset to 1980 is still a record; 9999 is not).
YEARS = range(1970, 2200)


def make_date(year: int, month: int, day: int) -> date:
    if year not in YEARS:
        raise BadLine("field_impossible", f"year {year} is out of range")
    try:
        return date(year, month, day)
    except ValueError:
        raise BadLine(
            "field_impossible", f"date {year}-{month:02}-{day:02} does not exist"
        ) from None


# The receive time at the site, for the last receive time asked: a batch of lines
# shares one, and a zone conversion costs more than the rest of a line's date.
_last_local: list[tuple[datetime, tzinfo, datetime]] = []


def site_time(received_at: datetime, tz: tzinfo) -> datetime:
    """`received_at.astimezone(tz)`, the last answer kept."""
    last = _last_local[0] if _last_local else None
    if last is not None and last[0] is received_at and last[1] is tz:
        return last[2]
    local = received_at.astimezone(tz)
    _last_local[:] = [(received_at, tz, local)]
    return local


def infer_year(
    month: int, day: int, hms: tuple[int, int, int], tz: tzinfo, received_at: datetime
) -> datetime:
    """A date without a year: the latest year that puts it no later than a day after
    the receive time (Dec 31 received on Jan 1 is last year)."""
    if not (1 <= month <= 12 and 1 <= day <= 31):
        raise BadLine("field_impossible", f"date {month:02}/{day:02} does not exist")
    received_local_year = site_time(received_at, tz).year
    for year in (received_local_year + 1, received_local_year, received_local_year - 1):
        try:
            candidate = to_utc(date(year, month, day), hms, tz)
        except ValueError:
            continue  # 29 Feb in a common year
        if candidate <= received_at + _AHEAD:
            return candidate
    for year in range(received_local_year - 2, received_local_year - 9, -1):
        try:  # 29 Feb: the last leap year
            return to_utc(date(year, month, day), hms, tz)
        except ValueError:
            continue
    raise BadLine("field_impossible", f"date {month:02}/{day:02} does not exist")


def infer_date(hms: tuple[int, int, int], tz: tzinfo, received_at: datetime) -> datetime:
    """A time without a date: today at the site, or yesterday if that is in the future
    (a call started at 23:58 and ended after midnight)."""
    today = site_time(received_at, tz).date()
    candidate = to_utc(today, hms, tz)
    if candidate > received_at + timedelta(minutes=5):
        candidate = to_utc(today - timedelta(days=1), hms, tz)
    return candidate
