"""The `replay` source: recorded call records played as live calls."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from agent.model import Outcome
from drivers.base import SiteContext
from drivers.sources.replay.config import ReplayConfig
from drivers.sources.replay.source import ReplaySource

GOOD = {
    "source": "x",
    "call_id": "1",
    "started_at": "2026-11-23T15:00:00Z",
    "ended_at": "2026-11-23T15:00:20Z",
    "direction": "inbound",
    "outcome": "missed",
    "caller_raw": "5145550111",
}


async def test_bad_lines_are_counted_and_skipped(tmp_path: Path, site: SiteContext) -> None:
    """Garbage, a non-object, an unknown field and a bad outcome are each skipped and
    counted; the good records around them are played, renamed to the source."""
    lines = [
        json.dumps(GOOD),
        "not json",
        "[1, 2]",
        json.dumps({**GOOD, "colour": "red"}),
        json.dumps({**GOOD, "outcome": "maybe"}),
        "",
        "# a comment",
        json.dumps({**GOOD, "call_id": "2", "ended_at": "2026-11-23T15:01:00Z"}),
    ]
    path = tmp_path / "calls.jsonl"
    path.write_text("\n".join(lines))
    source = ReplaySource(ReplayConfig(name="drill", path=path, shift_to_now=False), site)
    records = [r async for r in source.records()]
    assert [r.call_id for r in records] == ["1", "2"]
    assert {r.source for r in records} == {"drill"}
    assert records[0].outcome is Outcome.MISSED
    assert source.health().counters["bad_record"] == 4
    assert source.health().summary == "finished"


async def test_shift_to_now_moves_the_last_call_to_now(tmp_path: Path, site: SiteContext) -> None:
    """With shift_to_now the last recorded call ends at the site clock's now."""
    now = datetime(2027, 1, 5, 12, 0, tzinfo=UTC)
    clocked = SiteContext(site.name, site.tz, site.country, clock=lambda: now)
    path = tmp_path / "calls.jsonl"
    path.write_text(json.dumps(GOOD) + "\n")
    source = ReplaySource(ReplayConfig(name="drill", path=path), clocked)
    records = [r async for r in source.records()]
    assert records[0].ended_at == now
    assert (records[0].ended_at - records[0].started_at).total_seconds() == 20


async def test_missing_file_reports_down(tmp_path: Path, site: SiteContext) -> None:
    """An unreadable file ends the source with health DOWN, not an exception."""
    source = ReplaySource(ReplayConfig(name="drill", path=tmp_path / "nope.jsonl"), site)
    assert [r async for r in source.records()] == []
    assert source.health().state.value == "down"
