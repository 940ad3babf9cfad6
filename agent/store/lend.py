"""The store's connection lent to the event loop's thread for a batch of units.

aiosqlite runs every statement on its own thread, one trip each. For a batch of
units (agent/store/group.py) that thread opens the transaction, then lends the
sqlite3 connection to the loop's thread and waits (`lend`); the loop runs the units
on it with `run_units`, the store's methods executing at once through `Direct`, and
gives it back; the thread commits (the fsync off the loop). `Statements` queues SQL
on the thread without waiting: the one place that uses aiosqlite's queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import Callable, Coroutine
from functools import partial
from typing import Any, TypeVar

import aiosqlite

from agent.errors import StoreError

T = TypeVar("T")
Unit = Callable[[], Coroutine[Any, Any, Any]]
SAVEPOINT = "member"


class UnitWaited(RuntimeError):
    """A unit waited on something other than the store (a bug: a unit runs to its
    end at once, the connection lent to it)."""


class Direct:
    """The connection as a unit sees it: aiosqlite's calls, run at once on the
    sqlite3 connection lent to the loop's thread (so awaiting them never waits)."""

    __slots__ = ("raw",)

    def __init__(self, raw: sqlite3.Connection) -> None:
        self.raw = raw

    async def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        return self.raw.execute(sql, params)

    async def execute_fetchall(self, sql: str, params: Any = ()) -> list[Any]:
        return self.raw.execute(sql, params).fetchall()

    @property
    def in_transaction(self) -> bool:
        return self.raw.in_transaction


class Statements:
    """SQL sent to the connection's thread without waiting for it: queued in order
    with every statement sent after it (aiosqlite runs one FIFO queue per
    connection), its outcome a future. The one place that uses aiosqlite's queue."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    def send(self, sql: str) -> asyncio.Future[Any]:
        return self.call(partial(_run, sql))

    def call(self, fn: Callable[[sqlite3.Connection], T]) -> asyncio.Future[T]:
        """`fn(the sqlite3 connection)` on SQLite's thread, in order."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        raw = self._conn._conn  # the sqlite3 connection aiosqlite owns
        self._conn._tx.put_nowait((future, partial(fn, raw)))
        return future


def _run(sql: str, raw: sqlite3.Connection) -> None:
    raw.execute(sql)


class Lent:
    """A batch's connection, lent by SQLite's thread to the event loop's."""

    def __init__(
        self, size: int, ready: Callable[[sqlite3.Connection | BaseException], Any]
    ) -> None:
        self.ready = ready
        self.gate = threading.Event()  # set: the loop is done with the connection
        self.outcomes: list[Any] = [StoreError("the batch was interrupted")] * size
        self.commit = False  # True once the units ran to their end


def settle(future: asyncio.Future[Any], value: Any) -> None:
    if future.done():
        return
    if isinstance(value, BaseException):
        future.set_exception(value)
    else:
        future.set_result(value)


def lend(lent: Lent, raw: sqlite3.Connection) -> list[Any]:
    """On SQLite's thread: BEGIN (a busy wait on another process happens here), lend
    the connection until the units ran, COMMIT (and its fsync). Each unit's outcome
    (its value or its exception) ends in `lent.outcomes`; a failed COMMIT becomes
    the outcome of every unit that had succeeded."""
    try:
        if raw.in_transaction:  # a commit cancelled earlier left it open
            raw.execute("ROLLBACK")
        raw.execute("BEGIN IMMEDIATE")
    except BaseException as err:
        lent.ready(err)
        raise
    lent.ready(raw)
    lent.gate.wait()
    if raw.in_transaction and not lent.commit:
        raw.execute("ROLLBACK")
    if raw.in_transaction:
        try:
            raw.execute("COMMIT")
        except sqlite3.Error as err:
            with contextlib.suppress(sqlite3.Error):
                raw.execute("ROLLBACK")
            lent.outcomes = [o if isinstance(o, BaseException) else err for o in lent.outcomes]
    return lent.outcomes


def run_units(raw: sqlite3.Connection, units: list[Unit]) -> list[Any]:
    """In the open transaction, each unit in its savepoint when it has company (alone,
    a failure rolls the transaction back). An error that ended the whole transaction
    fails every unit of the batch with it, before and after."""
    outcomes: list[Any] = []
    several = len(units) > 1
    for unit in units:
        if several:
            raw.execute(f"SAVEPOINT {SAVEPOINT}")
        try:
            outcomes.append(drive(unit()))
        except Exception as err:
            if not raw.in_transaction:  # SQLite ended the transaction: all of it is gone
                return [err] * len(units)
            if several:
                raw.execute(f"ROLLBACK TO {SAVEPOINT}")
                raw.execute(f"RELEASE {SAVEPOINT}")
            else:
                raw.execute("ROLLBACK")
            outcomes.append(err)
            continue
        if several:
            raw.execute(f"RELEASE {SAVEPOINT}")
    return outcomes


def drive(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine that never waits (it only calls the store) to its end."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value
    coro.close()
    raise UnitWaited("a unit of work waited on something other than the store")
