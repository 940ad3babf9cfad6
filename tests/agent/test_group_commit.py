"""Group commit (agent/store/group.py): units and transactions that arrive while one
commits share the next commit, each all or nothing; a lone one commits at once."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from agent.config.settings import Settings
from agent.decide.pipeline import Pipeline
from agent.store import Store
from agent.store.lend import UnitWaited
from tests.agent.conftest import call, clock_at


async def _insert(store: Store, key: str) -> str:
    await store.write_one("INSERT INTO meta (key, value) VALUES (?, 'x')", (key,))
    return key


def _committed_keys(path: Path) -> set[str]:
    """What another connection sees: only what was committed."""
    with sqlite3.connect(path) as other:
        rows = other.execute("SELECT key FROM meta WHERE key LIKE 'k%'").fetchall()
    return {str(r[0]) for r in rows}


async def test_one_bad_unit_in_a_batch_does_not_lose_the_others(store: Store) -> None:
    """Ten units queued together: the one that fails after writing has its write
    undone and its caller gets its error; the nine others are committed, in fewer
    commits than units (they shared them)."""

    async def bad() -> str:
        await _insert(store, "k-bad")
        raise ValueError("this call is refused")

    def unit(i: int) -> Any:
        return bad if i == 5 else (lambda: _insert(store, f"k{i}"))

    before = store.group.commits
    results = await asyncio.gather(
        *(store.atomic(unit(i)) for i in range(10)), return_exceptions=True
    )
    assert isinstance(results[5], ValueError)
    assert [r for i, r in enumerate(results) if i != 5] == [f"k{i}" for i in range(10) if i != 5]
    assert _committed_keys(store.path) == {f"k{i}" for i in range(10) if i != 5}
    assert store.group.commits - before < 9


async def test_a_lone_unit_commits_at_once_without_a_timer(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A unit with nothing queued is committed in its own trip: no timer is set to
    wait for company, and the row is committed (seen by another connection) when
    `atomic` returns."""
    loop = asyncio.get_running_loop()

    def no_timer(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("group commit waited on a timer")

    monkeypatch.setattr(loop, "call_at", no_timer)
    before = store.group.commits
    assert await store.atomic(lambda: _insert(store, "k-alone")) == "k-alone"
    assert _committed_keys(store.path) == {"k-alone"}
    assert store.group.commits == before + 1


async def test_transactions_of_other_tasks_share_a_commit_and_fail_alone(store: Store) -> None:
    """`transaction()` blocks of tasks that queue while one runs go in the same
    commit, each in its savepoint: a block that raises loses its writes only."""
    gate = asyncio.Event()

    async def block(i: int) -> None:
        async with store.transaction() as conn:
            await conn.execute("INSERT INTO meta (key, value) VALUES (?, 'x')", (f"k{i}",))
            if i == 0:
                await gate.wait()  # the others queue meanwhile
            if i == 2:
                raise ValueError("bad block")

    first = asyncio.create_task(block(0))
    await asyncio.sleep(0)
    others = [asyncio.create_task(block(i)) for i in (1, 2, 3)]
    await asyncio.sleep(0)
    before = store.group.commits
    gate.set()
    results = await asyncio.gather(first, *others, return_exceptions=True)
    assert isinstance(results[2], ValueError)
    assert _committed_keys(store.path) == {"k0", "k1", "k3"}
    assert store.group.commits == before + 1


async def test_a_unit_that_waits_on_something_else_is_refused(store: Store) -> None:
    """Units run on SQLite's thread: one that awaits anything but the store is a bug,
    refused with its writes undone, and the store goes on."""

    async def waits() -> None:
        await _insert(store, "k-waits")
        await asyncio.sleep(0)

    with pytest.raises(UnitWaited):
        await store.atomic(waits)
    assert await store.atomic(lambda: _insert(store, "k-after")) == "k-after"
    assert _committed_keys(store.path) == {"k-after"}


async def test_a_burst_of_calls_shares_commits_and_a_bad_call_loses_only_itself(
    store: Store, settings: Settings
) -> None:
    """Through the pipeline: twenty calls accepted at once are stored in fewer
    commits than calls; the one the store refuses (a lone surrogate in its caller
    name cannot be encoded) is the only one missing, each other call has its
    decision and its text."""
    pipeline = Pipeline(settings, store, clock_at("2026-11-23 10:08"))
    calls = [
        call("2026-11-23 10:05", caller=f"51455502{i:02d}", call_id=f"burst{i}") for i in range(20)
    ]
    bad = call("2026-11-23 10:05", caller="5145550299", call_id="bad", caller_name="\udcff")
    calls.insert(7, bad)
    before = store.group.commits
    results = await asyncio.gather(*(pipeline.accept(c) for c in calls), return_exceptions=True)
    assert isinstance(results[7], UnicodeEncodeError)
    assert store.group.commits - before < 10
    rows = await store.fetchall(
        "SELECT c.pbx_call_id, c.decision, m.id FROM calls c "
        "LEFT JOIN messages m ON m.call_id = c.id ORDER BY c.id"
    )
    assert [r[0] for r in rows] == [f"burst{i}" for i in range(20)]
    assert all(decision == "notify" and text is not None for _, decision, text in rows)


@pytest.mark.parametrize("queued", ["transaction", "unit"])
async def test_a_member_cancelled_in_the_queue_is_passed_over(store: Store, queued: str) -> None:
    """A transaction is under way; a second writer queues behind it and is cancelled
    (the daemon stopping its loops) in the same turn of the loop as the first ends:
    the turn never goes to the cancelled one (it was an InvalidStateError that
    wedged the store), the cancelled writer wrote nothing, and the next one commits."""
    release = asyncio.Event()

    async def first() -> None:
        async with store.transaction() as conn:
            await conn.execute("INSERT INTO meta (key, value) VALUES ('k-first', 'x')")
            await release.wait()

    async def second() -> str:
        if queued == "unit":
            return await store.atomic(lambda: _insert(store, "k-cancelled"))
        async with store.transaction() as conn:
            await conn.execute("INSERT INTO meta (key, value) VALUES ('k-cancelled', 'x')")
        return "k-cancelled"

    leader = asyncio.create_task(first())
    await asyncio.sleep(0.05)
    waiter = asyncio.create_task(second())
    await asyncio.sleep(0.05)
    waiter.cancel()  # its turn future is cancelled now; its task runs only later
    release.set()
    await leader
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert await asyncio.wait_for(store.atomic(lambda: _insert(store, "k-next")), 10) == "k-next"
    assert _committed_keys(store.path) == {"k-first", "k-next"}
