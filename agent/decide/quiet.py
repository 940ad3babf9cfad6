"""Quiet hours kept in the site's time and in the caller's own. Pure: no I/O, no clock.

A Montreal dealer's 8:00 is 5:00 in Vancouver: with `sms.quiet_hours_caller_time`
(on by default) a text leaves only when the `sms.quiet_hours` range is over both at
the site and where the caller is. The caller's zone comes from the number's area
code (`agent.numbers.time_zones_of`); when the code spans several zones every one of
them must be out of its quiet hours (the strictest: the latest at night, the
earliest in the morning). A number whose zone is unknown keeps the site's hours only,
and so does one whose zones lie more than three hours apart: that is no place but a
non-geographic code (NANP 600 or 500 numbers are given every zone from Guam to
Newfoundland).

    quiet_until(quiet, at, zones) -> None        `at` is outside the range everywhere
                                  -> datetime    the first moment it is outside everywhere
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from agent.config.hours import quiet_hours_end
from agent.numbers import time_zones_of

if TYPE_CHECKING:
    from agent.config.settings import Settings

# When zones so far apart that no hour is outside the range in all of them (a code
# spanning Guam and Newfoundland), the search stops here and the site's hours rule.
_SEARCH_LIMIT = timedelta(days=2)


def quiet_until(quiet: str, at: datetime, zones: Sequence[tzinfo]) -> datetime | None:
    """None when `at` is outside the quiet range in every zone of `zones` (the first
    one is the site's); else the first later moment that is, in the first zone's time.
    If no such moment exists within two days, the first zone's own end."""
    if not zones:
        return None
    moment = at
    for _ in range(4 * len(zones) + 4):
        ends = [quiet_hours_end(quiet, moment.astimezone(zone)) for zone in zones]
        found = [end for end in ends if end is not None]
        if not found:
            return None if moment == at else moment.astimezone(zones[0])
        moment = max(found)
        if moment - at > _SEARCH_LIMIT:
            break
    return quiet_hours_end(quiet, at.astimezone(zones[0]))


# Zones of one area code further apart than this do not locate the caller.
MAX_SPREAD = timedelta(hours=3)


def caller_zones(number_e164: str, at: datetime) -> list[tzinfo]:
    """The zones of the number's area code, [] when unknown or not a place."""
    zones: list[tzinfo] = [z for z in map(_zone, time_zones_of(number_e164)) if z]
    offsets = [at.astimezone(z).utcoffset() or timedelta(0) for z in zones]
    if not zones or max(offsets) - min(offsets) > MAX_SPREAD:
        return []
    return zones


def zones_for(settings: Settings, number_e164: str | None, at: datetime) -> list[tzinfo]:
    """The site's zone, then the caller's (when caller-time quiet hours are on)."""
    zones: list[tzinfo] = [settings.site.tz]
    if settings.sms.quiet_hours_caller_time and number_e164:
        zones += caller_zones(number_e164, at)
    return zones


def quiet_end_for(settings: Settings, number_e164: str | None, at: datetime) -> datetime | None:
    """When a text to `number_e164` due at `at` falls in quiet hours (the site's or the
    caller's), the moment it may leave; else None."""
    return quiet_until(settings.sms.quiet_hours, at, zones_for(settings, number_e164, at))


@functools.lru_cache(maxsize=256)
def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
