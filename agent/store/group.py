"""Group commit: write transactions that arrive while one commits share the next commit.

Each `transaction()` of the store is a *member*. The first member to arrive when none
is running leads: it takes the store's write lock, opens the transaction
(`BEGIN IMMEDIATE`) and runs its block. Members that arrive meanwhile queue; when a
block ends, the turn goes to the next queued member, which runs its block in the same
open transaction inside its own savepoint, so a block that fails undoes its own
writes only (and its caller gets the error); the others stay. The member whose block
ends with nobody queued (or the batch at `MAX_BATCH`) commits. Every member waits for
that commit: its caller hears of success only once the batch is durable
(`synchronous=FULL`), and of the commit's error when it failed. The write lock is
then released (a claim of the dispatcher waiting on it goes first) and the next
queued member leads the next batch. So a lone call commits at once (there is no
timer), and under a burst the calls that finished while a commit was in flight go
in the next one together.

Each block runs in its caller's task, one at a time, so a block nests the store's
other methods as before (the owner task is the one whose turn it is). SAVEPOINT and
RELEASE go to SQLite's thread without a wait of their own (in order with every
other statement: `Statements`), so a member in a batch costs no extra trip.

A *unit* (`run(unit)`: an async function whose only waits are the store's own
calls, the pipeline's call) goes further. The units queued together are one batch:
SQLite's thread opens the transaction (`BEGIN IMMEDIATE`, where a wait on another
process's lock happens) and lends the connection to the event loop's thread, which
runs each unit in its savepoint there, the store's methods executing at once
(`Direct`: no trip per statement, no handing the GIL to and fro); SQLite's thread
then commits, so the fsync never holds the loop. A batch holds the loop for its
units' own work (about 0.3 ms a call; at most `MAX_BATCH` units). A lone unit costs
two short trips and its commit.

An error that ends SQLite's whole transaction (SQLITE_FULL, an I/O error) in the
middle of a batch fails every member of the batch with it: none is acknowledged, and
their callers retry or hold their calls (agent/decide/held.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from functools import partial
from typing import Any, TypeVar, cast

import aiosqlite

from agent.store.lend import SAVEPOINT, Direct, Lent, Statements, Unit, lend, run_units, settle

MAX_BATCH = 256  # units run on the loop thread: a batch holds it about 0.3 ms a unit

LEAD, JOIN, DONE = "lead", "join", "done"
T = TypeVar("T")


class _Member:
    __slots__ = ("done", "task", "turn", "unit")

    def __init__(self, loop: asyncio.AbstractEventLoop, unit: Unit | None = None) -> None:
        self.task = asyncio.current_task()
        self.unit = unit
        self.turn: asyncio.Future[str] = loop.create_future()
        self.done: asyncio.Future[Any] = loop.create_future()


class GroupCommit:
    """The members of the store's write transactions, see the module docstring.
    `on_write(err)` is told each commit's outcome (None: it succeeded)."""

    def __init__(
        self,
        conn: Callable[[], aiosqlite.Connection],
        lock: asyncio.Lock,
        set_owner: Callable[[asyncio.Task[Any] | None], None],
        on_write: Callable[[BaseException | None], None],
        set_direct: Callable[[Direct | None], None],
    ) -> None:
        self._conn = conn
        self._lock = lock
        self._set_owner = set_owner
        self._on_write = on_write
        self._set_direct = set_direct
        self._waiting: deque[_Member] = deque()
        self._batch: list[_Member] = []  # blocks done, waiting for the commit
        self._running = False  # a member has the turn or a commit is in flight
        self._sent: list[asyncio.Future[Any]] = []
        self.commits = 0  # for tests and benchmarks: transactions committed
        self.members = 0  # blocks committed in them

    @asynccontextmanager
    async def member(self) -> AsyncIterator[aiosqlite.Connection]:
        loop = asyncio.get_running_loop()
        me = _Member(loop)
        if self._running:
            self._waiting.append(me)
            try:
                kind = await me.turn
            except BaseException:
                self._abandon(me)
                raise
        else:
            self._running, kind = True, LEAD
        conn = await self._open(kind)
        self._set_owner(me.task)
        try:
            yield conn
        except BaseException as err:
            self._set_owner(None)
            await self._undo(kind, err)
            raise
        self._set_owner(None)
        if kind == JOIN:
            self._sent.append(Statements(conn).send(f"RELEASE {SAVEPOINT}"))
        self._batch.append(me)
        self._next()
        await me.done

    async def run(self, unit: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """`await unit()` as one member, run on the lent connection with the units queued
        with it (see the module docstring); its result once the batch is durable."""
        me = _Member(asyncio.get_running_loop(), unit)
        if self._running:
            self._waiting.append(me)
            try:
                kind = await me.turn
            except BaseException:
                self._abandon(me)
                raise
        else:
            self._running, kind = True, LEAD
        if kind == LEAD:
            await self._ship(me)
        return cast(T, await me.done)

    async def _ship(self, me: _Member) -> None:
        """Lead a batch of units: SQLite's thread opens the transaction and lends the
        connection to this thread, which runs the units on it (no trip per statement,
        no handing the GIL back and forth), then commits (the fsync off the loop)."""
        try:
            await self._lock.acquire()
        except BaseException:
            self._hand_over()
            raise
        batch = [me]
        self._prune()
        while self._waiting and self._waiting[0].unit is not None and len(batch) < MAX_BATCH:
            batch.append(self._waiting.popleft())
            self._prune()
        self._batch = batch
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[sqlite3.Connection] = loop.create_future()

        def signal(value: sqlite3.Connection | BaseException) -> None:  # from SQLite's thread
            loop.call_soon_threadsafe(settle, ready, value)

        lent = Lent(len(batch), signal)
        job = Statements(self._conn()).call(partial(lend, lent))
        job.add_done_callback(partial(self._units_done, batch, lent))
        try:
            raw = await ready
        except BaseException:
            lent.gate.set()
            raise
        self._set_direct(Direct(raw))
        try:
            lent.outcomes = run_units(raw, [cast(Unit, m.unit) for m in batch])
            lent.commit = True  # (not after an exception that is not an Exception)
        finally:
            self._set_direct(None)
            lent.gate.set()

    def _units_done(self, batch: list[_Member], lent: Lent, job: asyncio.Future[list[Any]]) -> None:
        failed = job.exception() if not job.cancelled() else asyncio.CancelledError()
        outcomes: list[Any] = [failed] * len(batch) if failed is not None else lent.outcomes
        errors = [o for o in outcomes if isinstance(o, BaseException)]
        self._on_write(errors[0] if len(errors) == len(outcomes) else None)
        if failed is None:
            self.commits += 1
            self.members += sum(not isinstance(o, BaseException) for o in outcomes)
        for member, outcome in zip(batch, outcomes, strict=True):
            if member.done.done():
                continue
            if isinstance(outcome, BaseException):
                member.done.set_exception(outcome)
            else:
                member.done.set_result(outcome)
            if not member.turn.done():
                member.turn.set_result(DONE)
        self._batch = []
        self._end_batch(None)

    async def _open(self, kind: str) -> aiosqlite.Connection:
        """The open transaction, for a member whose turn it is."""
        if kind == JOIN:
            conn = self._conn()
            self._sent.append(Statements(conn).send(f"SAVEPOINT {SAVEPOINT}"))
            return conn
        try:
            await self._lock.acquire()
        except BaseException:
            self._hand_over()
            raise
        try:
            conn = self._conn()
            if conn.in_transaction:  # a commit cancelled earlier left it open
                await conn.execute("ROLLBACK")
            await conn.execute("BEGIN IMMEDIATE")
        except BaseException as err:
            self._on_write(err)
            self._lock.release()
            self._hand_over()
            raise
        return conn

    async def _undo(self, kind: str, err: BaseException) -> None:
        """A block failed: undo its writes, the batch's stay when they can."""
        self._on_write(err)
        conn = self._conn()
        if kind == LEAD:  # nobody joined yet: the transaction is this block's alone
            with contextlib.suppress(sqlite3.Error):
                await conn.execute("ROLLBACK")
            self._end_batch(err)
            return
        try:
            if not conn.in_transaction:
                raise err
            await conn.execute(f"ROLLBACK TO {SAVEPOINT}")
            await conn.execute(f"RELEASE {SAVEPOINT}")
        except BaseException:  # the whole transaction is gone: so is the batch
            with contextlib.suppress(sqlite3.Error):
                await conn.execute("ROLLBACK")
            self._end_batch(err)
            return
        self._next()

    def _prune(self) -> None:
        """Drop queued members cancelled while they waited (their task has not run its
        `_abandon` yet): a turn is never handed to a cancelled future."""
        while self._waiting and self._waiting[0].turn.done():
            self._waiting.popleft()

    def _next(self) -> None:
        """The turn to the next queued member, or the batch commits."""
        self._prune()
        if self._waiting and self._waiting[0].unit is None and len(self._batch) < MAX_BATCH:
            self._waiting.popleft().turn.set_result(JOIN)
            return
        if not self._batch:  # the lead's block failed and nobody came: nothing to commit
            self._end_batch(None)
            return
        sent, self._sent = self._sent, []
        commit = Statements(self._conn()).send("COMMIT")
        commit.add_done_callback(partial(self._committed, sent))

    def _committed(self, sent: list[asyncio.Future[Any]], commit: asyncio.Future[Any]) -> None:
        err = commit.exception() if not commit.cancelled() else asyncio.CancelledError()
        for future in sent:  # SAVEPOINT / RELEASE: their own error, if any, is reported
            if err is None and not future.cancelled() and future.exception() is not None:
                err = future.exception()
        if err is not None:
            statements = Statements(self._conn())
            statements.send("ROLLBACK").add_done_callback(_ignore)
        else:
            self.commits += 1
            self.members += len(self._batch)
        self._on_write(err)
        self._end_batch(err)

    def _end_batch(self, err: BaseException | None) -> None:
        """Tell the batch's members (each hears of the commit's error, or of the error
        that ended the transaction), free the lock and let the next member lead."""
        batch, self._batch = self._batch, []
        for me in batch:
            if not me.done.done():
                if err is None:
                    me.done.set_result(None)
                else:
                    me.done.set_exception(_copy(err))
        self._sent = []
        if self._lock.locked():
            self._lock.release()
        self._hand_over()

    def _hand_over(self) -> None:
        self._prune()
        if self._waiting:
            self._waiting.popleft().turn.set_result(LEAD)
        else:
            self._running = False

    def _abandon(self, me: _Member) -> None:
        """A queued member was cancelled: out of the queue, or, when the turn had
        reached it already, the turn goes on as if its block had written nothing."""
        if not me.turn.done() or me.turn.cancelled():  # it never had the turn
            with contextlib.suppress(ValueError):  # a unit in a batch under way, or pruned
                self._waiting.remove(me)
        elif me.turn.result() == DONE:
            return
        elif me.turn.result() == LEAD:
            self._hand_over()
        else:
            self._next()


def _copy(err: BaseException) -> BaseException:
    """The same error for each member (an exception object raised in several tasks
    would gather their tracebacks)."""
    if isinstance(err, sqlite3.Error):
        copy = type(err)(*err.args)
        for attr in ("sqlite_errorcode", "sqlite_errorname"):
            if hasattr(err, attr):
                setattr(copy, attr, getattr(err, attr))
        return copy
    return err


def _ignore(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()
