"""The stored form of a timestamp (`ts`) is `isoformat(timespec="microseconds")` of
the moment in UTC, byte for byte, whatever the zone, the fold and the microseconds,
and whether or not it was formatted before (it remembers recent UTC moments)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from agent.store import base
from agent.store.base import ts

ZONES = [
    UTC,
    timezone(timedelta(hours=-5)),
    timezone(timedelta(hours=5, minutes=30)),
    ZoneInfo("UTC"),
    ZoneInfo("America/Toronto"),
    ZoneInfo("America/St_Johns"),
    ZoneInfo("Europe/Paris"),
    ZoneInfo("Australia/Lord_Howe"),
]
WALL = [
    datetime(2026, 1, 1, 0, 0, 0, 0),
    datetime(2026, 12, 2, 17, 3, 4, 123456),
    datetime(2026, 6, 30, 23, 59, 59, 999999),
    datetime(2026, 3, 8, 2, 30, 0, 0),  # in Toronto's spring gap
    datetime(2026, 11, 1, 1, 30, 0, 5),  # twice in Toronto (fold 0 and 1)
    datetime(2026, 10, 25, 2, 30, 0, 0),  # twice in Paris
    datetime(1, 1, 2, 0, 0, 0, 1),
    datetime(9999, 12, 30, 23, 59, 59, 0),
]


def _expected(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


@pytest.mark.parametrize("zone", ZONES, ids=str)
def test_ts_is_the_utc_isoformat_in_every_zone(zone: timezone | ZoneInfo) -> None:
    for wall in WALL:
        for fold in (0, 1):
            moment = wall.replace(tzinfo=zone, fold=fold)
            expected = _expected(moment)
            assert ts(moment) == expected, moment
            assert ts(moment) == expected, moment  # again, remembered
            assert len(expected) == 32 and expected.endswith("+00:00")


def test_folds_of_one_wall_time_stay_apart() -> None:
    """Fold 0 and fold 1 of Toronto's 01:30 compare equal but are an hour apart."""
    toronto = ZoneInfo("America/Toronto")
    first = datetime(2026, 11, 1, 1, 30, tzinfo=toronto)
    second = first.replace(fold=1)
    assert first == second
    assert ts(first) == "2026-11-01T05:30:00.000000+00:00"
    assert ts(second) == "2026-11-01T06:30:00.000000+00:00"
    assert ts(first) == "2026-11-01T05:30:00.000000+00:00"


def test_the_remembered_moments_are_bounded() -> None:
    start = datetime(2026, 12, 2, tzinfo=UTC)
    for n in range(3 * base._RECENT_MAX):
        moment = start + timedelta(microseconds=n * 1001)
        assert ts(moment) == _expected(moment)
    assert len(base._RECENT) <= base._RECENT_MAX
