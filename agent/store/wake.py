"""Outcomes of calls on SQLite's thread, handed back to the event loop through a pipe.

aiosqlite hands each outcome back with `call_soon_threadsafe` while its thread still
holds the GIL, so the loop's thread wakes only to wait for the GIL. Here the call's
outcome goes in a queue and one byte in a pipe the loop reads (`os.write` runs
without the GIL): on a 2-core VM, a lone durable enqueue costs ~40 us less CPU and
waits less (bench/bench_spine.py). The pipe is closed only after the connection,
once no call can write to it any more.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

import aiosqlite

from agent.store.lend import Statements

T = TypeVar("T")


class Completions:
    """One per open connection, made on the loop that uses it."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._statements = Statements(conn)
        self._loop = asyncio.get_running_loop()
        self._read, self._write = os.pipe()
        os.set_blocking(self._read, False)
        os.set_blocking(self._write, False)
        self._done: deque[tuple[asyncio.Future[Any], bool, Any]] = deque()
        self._loop.add_reader(self._read, self._drain)

    def call(self, fn: Callable[[sqlite3.Connection], T]) -> asyncio.Future[T]:
        """`fn(the sqlite3 connection)` on SQLite's thread, in order with every other
        statement; its value or its exception in the future."""
        future: asyncio.Future[T] = self._loop.create_future()

        def job(raw: sqlite3.Connection) -> None:
            try:
                self._done.append((future, True, fn(raw)))
            except BaseException as err:  # handed to the caller, as aiosqlite does
                self._done.append((future, False, err))
            with contextlib.suppress(BlockingIOError):  # a full pipe wakes the loop anyway
                os.write(self._write, b"\0")

        self._statements.post(job)
        return future

    def _drain(self) -> None:
        with contextlib.suppress(BlockingIOError):
            os.read(self._read, 4096)
        while self._done:
            future, ok, value = self._done.popleft()
            if future.done():  # cancelled meanwhile
                continue
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)

    def close(self) -> None:
        """After the connection is closed (its thread has run every call): the last
        outcomes handed over, the pipe closed."""
        self._drain()
        self._loop.remove_reader(self._read)
        os.close(self._read)
        os.close(self._write)
