"""Quiet hours (the `sms.quiet_hours` range, "21:00-08:00", may wrap midnight) and the
site's public holidays. Pure."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from agent.config.calendar import holiday_dates


def quiet_hours_end(quiet: str, local: datetime) -> datetime | None:
    """When `local` falls inside the quiet range ("21:00-08:00" wraps midnight), the
    local time it ends; otherwise None."""
    if not quiet.strip():
        return None
    start, end = _quiet_bounds(quiet)
    t = local.timetz().replace(tzinfo=None)
    if start <= end:
        inside = start <= t < end
        end_day = local.date()
    else:
        inside = t >= start or t < end
        end_day = local.date() + timedelta(days=1) if t >= start else local.date()
    if not inside:
        return None
    return datetime.combine(end_day, end, local.tzinfo)


def _quiet_bounds(quiet: str) -> tuple[time, time]:
    begin, _, finish = quiet.partition("-")
    h1, m1 = (int(x) for x in begin.strip().split(":"))
    h2, m2 = (int(x) for x in finish.strip().split(":"))
    return time(h1, m1), time(h2 % 24, m2)


_HHMM = re.compile(r"^\s*([01]?\d|2[0-3]):([0-5]\d)\s*$")


def validate_quiet_hours(text: str) -> str:
    """`"21:00-08:00"` (may wrap midnight) or empty for none."""
    if not text.strip():
        return text
    begin, sep, finish = text.partition("-")
    if not sep or not _HHMM.match(begin) or not _HHMM.match(finish):
        raise ValueError(f"{text!r} is not a time range (expected HH:MM-HH:MM, e.g. 21:00-08:00)")
    if begin.strip() == finish.strip():
        raise ValueError(f"{text!r} is an empty range (expected two different times)")
    return text


def public_holidays(
    country: str, province: str | None, extra: Iterable[date], year: int
) -> set[date]:
    """The site's closed days of `year`: its country's (and province's) public
    holidays plus the ones listed in `site.holidays`."""
    try:
        found = holiday_dates(country, province, year)
    except (NotImplementedError, KeyError):
        found = set()
    return found | {d for d in extra if d.year == year}
