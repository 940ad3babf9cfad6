"""When a case is due: `sla_minutes` of the department's opening hours after the miss.

Time when the department is closed (nights, closed days, public holidays) does not
count: a case opened Friday 21:00 with a 30-minute SLA, Saturday and Sunday closed,
is due Monday at opening + 30 min. A department with no hours is always open. Pure.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta

Weekly = dict[int, list[tuple[time, time]]]
# Looked this far ahead for opening hours: a department closed for longer has no due
# time (its cases still expire).
HORIZON_DAYS = 400


def sla_due(
    weekly: Weekly | None,
    start: datetime,
    minutes: int,
    closed: Callable[[int], set[str]],
) -> datetime | None:
    """The UTC moment `minutes` of opening time after local `start`; `closed(year)` is
    the set of ISO dates the site is closed that year. None if it never opens."""
    remaining = timedelta(minutes=minutes)
    if weekly is None:
        return (start + remaining).astimezone(UTC)
    tz = start.tzinfo
    for offset in range(HORIZON_DAYS):
        day = start.date() + timedelta(days=offset)
        if day.isoformat() in closed(day.year):
            continue
        for open_at, close_at in weekly[day.weekday()]:
            begin = max(datetime.combine(day, open_at, tz), start)
            finish = datetime.combine(day, close_at, tz)
            if finish <= begin:
                continue
            if finish - begin >= remaining:
                return (begin + remaining).astimezone(UTC)
            remaining -= finish - begin
    return None
