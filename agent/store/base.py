"""The store's connection, shared by every part of the store.

One aiosqlite connection, WAL journal, `synchronous=FULL` (dealerships lose power in
storms), forward-only migrations that keep a copy of the database first, write
transactions that nest within the task that opened them, generic queries, and the
read-only views of the status API. The domain operations live in `calls`,
`outbox` and `numbers`; `agent.store.Store` joins them.
"""

from __future__ import annotations

import asyncio
import hmac
import shutil
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar, cast

import aiosqlite

from agent.errors import StoreError
from agent.store.group import GroupCommit
from agent.store.lend import Direct
from agent.store.schema import MIGRATIONS
from agent.store.writable import classify, probe

Row = tuple[Any, ...]
# The connection's settings (bench/bench_spine.py gives raw SQLite the same ones).
PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=5000",
)
T = TypeVar("T")


# The stored forms of UTC moments stored lately: a call's `now`, its start and end
# are stored several times each (the call, its text, its case, the queries' bounds).
_RECENT: dict[datetime, str] = {}
_RECENT_MAX = 256


def ts(moment: datetime) -> str:
    """The stored form of a timestamp: UTC ISO 8601 with microseconds
    (`YYYY-MM-DDTHH:MM:SS.ffffff+00:00`), `isoformat(timespec="microseconds")` of the
    moment in UTC. Only moments in `UTC` itself are remembered: two moments of a zone
    with a fold (fold 0 and 1) compare equal though they are an hour apart."""
    if moment.tzinfo is UTC:
        text = _RECENT.get(moment)
        if text is not None:
            return text
        text = moment.isoformat()  # (no `timespec`: a keyword costs more than the fix below)
        if not moment.microsecond:
            text = f"{text[:19]}.000000+00:00"
        if len(_RECENT) >= _RECENT_MAX:
            _RECENT.clear()
        _RECENT[moment] = text
        return text
    return ts(moment.astimezone(UTC))


def parse_ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


class StoreBase:
    """Open with `async with Store(path) as store:`; raises StoreError when unusable."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()
        self.group = GroupCommit(
            lambda: self.conn, self._lock, self._set_owner, self.note_write, self._set_direct
        )
        # while a batch of units runs (on the connection lent to the loop): what they see
        self._direct: Direct | None = None
        self._direct_thread = 0
        self._owner: asyncio.Task[Any] | None = None
        self._keyed: hmac.HMAC | None = None  # the opt-out salt's HMAC (numbers.py)
        # `full` / `readonly` from the last write that failed so, until one succeeds
        self.write_problem: str | None = None

    async def __aenter__(self) -> Self:
        self._lock = asyncio.Lock()
        self.group = GroupCommit(
            lambda: self.conn, self._lock, self._set_owner, self.note_write, self._set_direct
        )
        check_directory(self.path)
        try:
            # lent to the event loop's thread for a batch of units (agent/store/group.py)
            self._conn = await aiosqlite.connect(
                self.path, isolation_level=None, check_same_thread=False
            )
            await self._configure()
            await self._migrate()
        except sqlite3.DatabaseError as err:
            await self.close()
            raise StoreError(_explain_db_error(self.path, err)) from None
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await conn.close()

    @property
    def conn(self) -> aiosqlite.Connection:
        if self._direct is not None and threading.get_ident() == self._direct_thread:
            return cast(aiosqlite.Connection, self._direct)
        if self._conn is None:
            raise StoreError("the store is not open")
        return self._conn

    async def _configure(self) -> None:
        for pragma in PRAGMAS:
            await self.conn.execute_fetchall(pragma)  # read to the end: none left stepping
        verdict = await self.scalar("PRAGMA quick_check")
        if verdict != "ok":
            raise sqlite3.DatabaseError(f"integrity check failed: {verdict}")

    async def _migrate(self) -> None:
        version = (await self.fetchone("PRAGMA user_version"))[0]
        if version > len(MIGRATIONS):
            raise StoreError(
                f"{self.path} was written by a newer ringback (schema {version}, this one knows "
                f"{len(MIGRATIONS)}); upgrade ringback or restore the backup"
            )
        if version < len(MIGRATIONS) and version > 0:
            await self.conn.execute("VACUUM INTO ?", (str(_backup_path(self.path, version)),))
        for number in range(version, len(MIGRATIONS)):
            await self.conn.executescript(
                f"BEGIN IMMEDIATE; {MIGRATIONS[number]}; PRAGMA user_version={number + 1}; COMMIT;"
            )

    def transaction(self) -> Transaction:
        """One write transaction, committed (durably) at the end of the block.

        Nested inside a transaction of the same task, it is part of the outer one:
        the pipeline stores a call, its decision and its text in one commit by calling
        the same methods other callers use alone. Transactions of other tasks that
        arrive while one commits share the next commit, each in its own savepoint
        (all or nothing each, acknowledged once durable: agent/store/group.py)."""
        return Transaction(self)

    async def atomic(self, unit: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """`await unit()` as one write transaction of its own, durable when this
        returns; all or nothing. The unit may await only the store's methods: it runs
        with the units queued with it in one transaction, on the connection lent to
        the loop (agent/store/group.py); an error in it undoes its writes and is
        raised."""
        return await self.group.run(unit)

    def _in_unit(self) -> bool:
        return self._direct is not None and threading.get_ident() == self._direct_thread

    def _set_direct(self, direct: Direct | None) -> None:
        self._direct_thread = threading.get_ident()
        self._direct = direct

    @asynccontextmanager
    async def between_transactions(self) -> AsyncIterator[None]:
        """The write lock held: no write transaction of this connection is open (or
        opens) during the block (a checkpoint runs only there)."""
        async with self._lock:
            yield

    def _set_owner(self, task: asyncio.Task[Any] | None) -> None:
        self._owner = task

    def savepoint(self, name: str) -> Savepoint:
        """Inside the task's open transaction, a part that can fail alone: an error in
        the block undoes the block's writes (and is raised), the rest stays."""
        return Savepoint(self, name)

    def note_write(self, err: BaseException | None) -> None:
        """Remember that the store is full or read-only (from a write's error), or
        that it takes writes again (None: a write succeeded)."""
        if err is None:
            self.write_problem = None
        elif (kind := classify(err)) is not None:
            self.write_problem = kind

    async def write_state(self) -> str:
        """`ok`, `full` or `readonly` now: the last failed write's kind until a write
        succeeds, else what the file system and `PRAGMA max_page_count` show."""
        if self.write_problem is not None:
            return self.write_problem
        pages = await self.scalar("PRAGMA page_count")
        limit = await self.scalar("PRAGMA max_page_count")
        return probe(self.path, pages, limit)

    async def write_one(self, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Cursor:
        """One statement as its own transaction (SQLite autocommit, durable with
        synchronous=FULL): one trip to the connection's thread instead of three. Inside
        the task's open transaction, one statement of it."""
        if self._in_unit() or (self._owner is not None and self._owner is asyncio.current_task()):
            return await self.conn.execute(sql, tuple(params))
        async with self._lock:
            try:
                cursor = await self.conn.execute(sql, tuple(params))
            except sqlite3.OperationalError as err:
                self.note_write(err)
                raise
            self.note_write(None)
            return cursor

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> Row:
        """The first row, or () when there is none. For queries of one row (look-ups by
        key, aggregates): one trip to SQLite's thread, where a cursor's execute, fetch
        and close would take three."""
        rows = await self.conn.execute_fetchall(sql, tuple(params))
        for row in rows:
            return tuple(row)
        return ()

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Row]:
        rows = await self.conn.execute_fetchall(sql, tuple(params))
        return [tuple(r) for r in rows]

    async def scalar(self, sql: str, params: Iterable[Any] = ()) -> Any:
        row = await self.fetchone(sql, params)
        return row[0] if row else None

    # --- read-only views for the status API -----------------------------------------

    async def rows_after(
        self, table: str, columns: str, after_id: int, limit: int
    ) -> tuple[list[Row], int]:
        """Rows of a feed table whose last change (`change_seq`) is after `after_id`, in
        change order (at most `limit`), and the feed's highest change, read under the
        write lock: between transactions of this connection, so never a row that may
        still roll back (see agent/status/paging.py for why that makes cursors gap-free)."""
        if table not in _FEED_TABLES:
            raise StoreError(f"{table} is not a feed table")
        async with self._lock:
            rows = await self.fetchall(
                f"SELECT {columns} FROM {table} WHERE change_seq > ? ORDER BY change_seq LIMIT ?",
                (after_id, limit),
            )
            highest = await self.scalar(f"SELECT COALESCE(MAX(change_seq), 0) FROM {table}")
        return rows, int(highest)

    async def attempt_counts(self) -> list[tuple[str, str, int]]:
        """(sender, result, count) over every attempt ever recorded (`-` for none)."""
        rows = await self.fetchall(
            "SELECT COALESCE(sender, '-'), result, COUNT(*) FROM attempts GROUP BY 1, 2"
        )
        return [(str(s), str(r), int(n)) for s, r, n in rows]


class Transaction:
    """`StoreBase.transaction()`: a plain object, not a generator (a unit of the
    pipeline opens several per call, nested in its own, where it does nothing)."""

    __slots__ = ("_member", "_store")

    def __init__(self, store: StoreBase) -> None:
        self._store = store
        self._member: AbstractAsyncContextManager[aiosqlite.Connection] | None = None

    async def __aenter__(self) -> aiosqlite.Connection:
        store = self._store
        if store._in_unit():
            return store.conn
        task = asyncio.current_task()
        if task is not None and store._owner is task:
            return store.conn
        self._member = member = store.group.member()
        return await member.__aenter__()

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        if self._member is None:  # nested: the outer transaction commits or not
            return None
        return await self._member.__aexit__(et, e, tb)


class Savepoint:
    """`StoreBase.savepoint(name)`: SAVEPOINT, then RELEASE, or ROLLBACK TO and
    RELEASE when the block raised (the error goes on)."""

    __slots__ = ("_name", "_store")

    def __init__(self, store: StoreBase, name: str) -> None:
        self._store = store
        self._name = name

    async def __aenter__(self) -> None:
        await self._store.conn.execute(f"SAVEPOINT {self._name}")

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        store, name = self._store, self._name
        if et is not None:
            await store.conn.execute(f"ROLLBACK TO {name}")
        await store.conn.execute(f"RELEASE {name}")


_FEED_TABLES = frozenset({"calls", "messages", "replies", "cases"})


def _backup_path(path: Path, version: int) -> Path:
    """A backup name not yet taken: an earlier backup of the same schema is kept."""
    backup = path.with_name(f"{path.name}.schema{version}.bak")
    n = 1
    while backup.exists():
        backup = path.with_name(f"{path.name}.schema{version}.{n}.bak")
        n += 1
    return backup


def check_directory(path: Path) -> None:
    """StoreError unless the directory of `path` exists, is writable and has room."""
    directory = path.parent
    if not directory.is_dir():
        raise StoreError(f"cannot open the store {path}: directory {directory} does not exist")
    probe = directory / f".ringback-write-test-{path.name}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise StoreError(
            f"cannot open the store {path}: directory {directory} is not writable ({err.strerror})"
        ) from None
    if shutil.disk_usage(directory).free < 1024 * 1024:
        raise StoreError(f"cannot open the store {path}: the disk of {directory} is full")


def _explain_db_error(path: Path, err: sqlite3.DatabaseError) -> str:
    text = str(err)
    if "not a database" in text or "malformed" in text or "integrity" in text:
        return (
            f"the store {path} is corrupt or not a ringback database ({text}); stop ringback, "
            "move the file aside and start again, or restore a backup"
        )
    return f"cannot open the store {path}: {text}"
