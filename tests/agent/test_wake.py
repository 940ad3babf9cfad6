"""Calls on SQLite's thread handed back through the store's pipe (agent/store/wake.py):
each caller gets its own value or its own error, in the order the calls were made,
a caller cancelled meanwhile is passed over, and the store closes cleanly after."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from functools import partial
from pathlib import Path

import pytest

from agent.store import Store
from agent.store.wake import Completions


def _completions(store: Store) -> Completions:
    assert store.completions is not None
    return store.completions


async def test_each_call_gets_its_own_value_in_order(store: Store) -> None:
    """Fifty calls queued at once come back each with its own value, in order with
    the statements aiosqlite runs for other callers on the same thread."""
    seen: list[int] = []

    def note(i: int, raw: sqlite3.Connection) -> int:
        seen.append(i)
        return i * 2

    futures = [_completions(store).call(partial(note, i)) for i in range(50)]
    assert await store.scalar("SELECT 1") == 1  # an aiosqlite call among them
    assert await asyncio.gather(*futures) == [i * 2 for i in range(50)]
    assert seen == list(range(50))


async def test_an_error_goes_to_its_caller_only(store: Store) -> None:
    """A call that raises on SQLite's thread raises in its caller; the next call and
    the store go on."""

    def bad(raw: sqlite3.Connection) -> None:
        raw.execute("INSERT INTO no_such_table VALUES (1)")

    with pytest.raises(sqlite3.OperationalError, match="no_such_table"):
        await _completions(store).call(bad)
    assert await _completions(store).call(lambda raw: raw.execute("SELECT 7").fetchone()[0]) == 7


async def test_a_cancelled_caller_is_passed_over(store: Store) -> None:
    """A caller cancelled while its call runs is passed over when the outcome comes
    back; the calls after it still get theirs."""
    gate = asyncio.Event()
    loop = asyncio.get_running_loop()

    def slow(raw: sqlite3.Connection) -> int:
        asyncio.run_coroutine_threadsafe(gate.wait(), loop).result(10)
        return 1

    first = _completions(store).call(slow)
    second = _completions(store).call(lambda raw: 2)
    first.cancel()
    gate.set()
    assert await second == 2
    assert first.cancelled()


async def test_the_pipe_is_closed_with_the_store(tmp_path: Path) -> None:
    """Closing the store closes the pipe once the connection's thread has run every
    call: an outcome still on its way is handed over, no descriptor is left open."""
    before = set(os.listdir("/proc/self/fd"))
    store = await Store(tmp_path / "ringback.db").__aenter__()
    last = _completions(store).call(lambda raw: "last")
    await store.close()
    assert last.done() and last.result() == "last"
    assert store.completions is None
    assert set(os.listdir("/proc/self/fd")) <= before
