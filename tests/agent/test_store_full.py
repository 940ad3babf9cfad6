"""A store that is full (SQLite's page limit, as a full disk) or read-only is waited
out, nothing lost, nothing stored twice: finished calls are held in memory and in
the fsync'd spill file beside the database, readiness says `full`, the dispatcher
claims nothing and goes on beating, and when room returns the held calls are stored
once each, in order, and the spill file goes. A spill file left by a killed run is
replayed at the next start without storing a call twice."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

from agent.config.settings import load_text
from agent.daemon.runtime import Runtime
from agent.decide.held import HELD_FILE
from agent.decide.pipeline import Accepted, Pipeline
from agent.model import CallRecord, record_to_json
from agent.store import Store
from tests.agent.conftest import call, clock_at


async def _fill(store: Store, pipeline: Pipeline) -> int:
    """Calls until the store refuses one for want of room; the page limit is set at
    the pages it holds, so the next write that needs a page fails."""
    pages = await store.scalar("PRAGMA page_count")
    await store.conn.execute(f"PRAGMA max_page_count = {pages}")
    stored = 0
    while True:
        try:
            await pipeline.accept(call("2026-11-23 10:00", caller=f"514555{stored:04d}"))
        except sqlite3.OperationalError as err:
            assert "full" in str(err)
            return stored
        stored += 1


async def _until(predicate: Callable[[], bool]) -> None:
    for _ in range(6000):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition never held")


async def test_calls_are_held_while_the_store_is_full_and_stored_once_when_room_returns(
    tmp_path: Path, dealership_yaml: Callable[..., str]
) -> None:
    """Readiness `full` (before and after a write fails), calls held in memory and
    on disk, the dispatcher waiting; then every call stored exactly once."""
    calls = [call("2026-11-23 10:05", caller=f"51455501{n:02d}") for n in range(12)]
    replay = tmp_path / "calls.jsonl"
    replay.write_text("".join(json.dumps(record_to_json(c)) + "\n" for c in calls))
    yaml_text = dealership_yaml(
        pbx=[{"type": "replay", "name": "pbx", "path": str(replay), "shift_to_now": False}]
    )
    loaded = load_text(yaml_text, tmp_path / "ringback.yaml")
    clock = clock_at("2026-11-23 10:06")
    seen: list[tuple[CallRecord, Accepted]] = []
    async with Store(loaded.settings.storage.path) as store:
        filler = Pipeline(loaded.settings, store, clock)
        before = await _fill(store, filler)
        assert await store.write_state() == "full"
        runtime = Runtime(loaded, store, clock, observer=lambda r, a: seen.append((r, a)))
        async with runtime as rt:
            await _until(lambda: len(rt.held) == len(calls))
            spill = tmp_path / HELD_FILE
            held_ids = [json.loads(line)["call_id"] for line in spill.read_text().splitlines()]
            assert held_ids == [c.call_id for c in calls]
            assert rt.pipeline.counters.get("calls_held") == len(calls)
            assert rt.pipeline.counters.get("store_unwritable") == 1
            assert await store.write_state() == "full"
            assert rt.dispatcher is not None and rt.loops_alive()
            assert rt.loops.report()["dispatcher"]["restarts"] == 0
            await store.conn.execute("PRAGMA max_page_count = 1000000")
            await _until(lambda: len(rt.held) == 0)
            assert await store.write_state() == "ok"
            assert not spill.exists()
        rows = await store.fetchall("SELECT pbx_call_id, COUNT(*) FROM calls GROUP BY pbx_call_id")
    counts: dict[str, int] = dict(rows)
    assert len(counts) == before + len(calls)
    assert all(n == 1 for n in counts.values())
    assert [r.call_id for r, _ in seen] == [c.call_id for c in calls]
    assert all(a.new for _, a in seen)


async def test_a_spill_file_left_by_a_killed_run_is_stored_at_start_without_duplicates(
    tmp_path: Path, dealership_yaml: Callable[..., str]
) -> None:
    """A run killed after a held call reached the store but before its line left the
    spill file: at the next start both lines are replayed, the stored one is seen as
    a duplicate, the other stored, the file removed."""
    first, second = call("2026-11-23 10:05"), call("2026-11-23 10:07", caller="5145550177")
    yaml_text = dealership_yaml(
        pbx=[{"type": "replay", "name": "pbx", "path": str(tmp_path / "none.jsonl")}]
    )
    (tmp_path / "none.jsonl").write_text("")
    loaded = load_text(yaml_text, tmp_path / "ringback.yaml")
    clock = clock_at("2026-11-23 10:08")
    spill = tmp_path / HELD_FILE
    spill.write_text("".join(json.dumps(record_to_json(c)) + "\n" for c in (first, second)))
    async with Store(loaded.settings.storage.path) as store:
        await Pipeline(loaded.settings, store, clock).accept(first)
        async with Runtime(loaded, store, clock) as rt:
            await _until(lambda: len(rt.held) == 0)
            assert rt.pipeline.counters.get("calls_duplicate") == 1
            assert rt.pipeline.counters.get("calls") == 1
        rows = await store.fetchall("SELECT pbx_call_id FROM calls ORDER BY id")
    assert [r[0] for r in rows] == [first.call_id, second.call_id]
    assert not spill.exists()
