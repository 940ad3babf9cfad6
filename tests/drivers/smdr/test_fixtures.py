"""Every line of every shared SMDR fixture, read by its family parser."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from agent.model import Direction
from drivers.base import SiteContext
from drivers.sources.smdr.families import make_parser
from drivers.sources.smdr.replay import replay
from tests.drivers.smdr.helpers import (
    VENDORS,
    Expected,
    config,
    expectations,
    fixture_bytes,
    fixture_lines,
)

CASES = [
    pytest.param(stem, e, id=f"{stem}:{e.line}") for stem in VENDORS for e in expectations(stem)
]
RECEIVED = datetime(2026, 11, 23, 19, 0, tzinfo=UTC)


@pytest.mark.parametrize(("stem", "expected"), CASES)
def test_fixture_line(stem: str, expected: Expected, site: SiteContext) -> None:
    """Pins each fixture line's classification (when the fixture settles it), caller
    and dialled number; unsettled (null) lines must parse without error and still
    give the fixture's caller and dialled number."""
    parser = make_parser(config(VENDORS[stem]), site.tz)
    line = fixture_lines(stem)[expected.line - 1]
    parsed = parser.parse(line, RECEIVED)
    if expected.classification is not None:
        assert parsed.classification == expected.classification
    assert (parsed.caller, parsed.dialed) == (expected.caller, expected.dialed)


@pytest.mark.parametrize("stem", list(VENDORS))
def test_fixture_file_replays_to_records(stem: str, site: SiteContext) -> None:
    """Pins that replaying a whole fixture file gives one record per call line, each
    with a UTC start not after its end, a stable call id and no duplicate ids."""
    cfg = config(VENDORS[stem])
    first = list(replay(fixture_bytes(stem), cfg, site))
    again = list(replay(fixture_bytes(stem), cfg, site))
    assert [r.call_id for r in first] == [r.call_id for r in again]
    assert len({r.call_id for r in first}) == len(first)
    calls = [e for e in expectations(stem) if e.classification not in ("ignore", "continuation")]
    if stem == "panasonic":
        calls = [e for e in calls if e.line != 3]  # DISA: not a call record
    assert len(first) == len(calls)
    for record in first:
        assert record.started_at.tzinfo is UTC and record.started_at <= record.ended_at
        assert "@" not in record.caller_raw
        assert isinstance(record.direction, Direction)
