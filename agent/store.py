"""The SQLite store: calls, the outbox, attempts, opt-outs, replies. The only shared state.

One aiosqlite connection owned by one `Store`, WAL journal, `synchronous=FULL`
(dealerships lose power in storms). Writes go through `transaction()`, which holds an
asyncio lock so two tasks never interleave statements of one transaction.

Crash rule for the outbox: a message claimed for sending is committed as `sending`
(with its attempt counted) before any sender sees it. A message found `sending` at
start-up was interrupted mid-send: it is requeued once (`retry_wait`, attempt recorded
as `interrupted`); if it had already been interrupted before, it goes to `unknown`
for a technician, so a message that crashes the daemon cannot loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import shutil
import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import aiosqlite

from agent.errors import StoreError
from agent.model import CallRecord, Message, MessageState
from agent.schema import MIGRATIONS

Row = tuple[Any, ...]

# How far back an answered call or a reply marks earlier unanswered calls recovered.
RECOVERY_LOOKBACK = timedelta(days=7)


def ts(moment: datetime) -> str:
    """The stored form of a timestamp: UTC ISO 8601 with microseconds."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def parse_ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


class Store:
    """Open with `async with Store(path) as store:`; raises StoreError when unusable."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: aiosqlite.Connection | None = None
        self._lock: Any = None
        self._owner: asyncio.Task[Any] | None = None
        self._salt: str | None = None

    async def __aenter__(self) -> Self:
        self._lock = asyncio.Lock()
        _check_directory(self.path)
        try:
            self._conn = await aiosqlite.connect(self.path, isolation_level=None)
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
        if self._conn is None:
            raise StoreError("the store is not open")
        return self._conn

    async def _configure(self) -> None:
        for pragma in (
            "PRAGMA journal_mode=WAL",
            "PRAGMA synchronous=FULL",
            "PRAGMA foreign_keys=ON",
            "PRAGMA busy_timeout=5000",
        ):
            await self.conn.execute(pragma)
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

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction, committed (durably) at the end of the block.

        Nested inside a transaction of the same task, it is part of the outer one:
        the pipeline stores a call, its decision and its text in one commit by calling
        the same methods other callers use alone."""
        task = asyncio.current_task()
        if task is not None and self._owner is task:
            yield self.conn
            return
        async with self._lock:
            self._owner = task
            try:
                await self.conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self.conn
                except BaseException:
                    await self.conn.execute("ROLLBACK")
                    raise
                await self.conn.execute("COMMIT")
            finally:
                self._owner = None

    async def write_one(self, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Cursor:
        """One statement as its own transaction (SQLite autocommit, durable with
        synchronous=FULL): one trip to the connection's thread instead of three. Inside
        the task's open transaction, one statement of it."""
        if self._owner is not None and self._owner is asyncio.current_task():
            return await self.conn.execute(sql, tuple(params))
        async with self._lock:
            return await self.conn.execute(sql, tuple(params))

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

    # --- calls -----------------------------------------------------------------------

    async def insert_call(
        self, record: CallRecord, remote_e164: str | None, received_at: datetime
    ) -> tuple[int, bool]:
        """Store a finished call; (row id, True) or (existing row id, False) if seen."""
        cursor = await self.write_one(_INSERT_CALL, _call_params(record, remote_e164, received_at))
        if cursor.rowcount == 1 and cursor.lastrowid is not None:
            return cursor.lastrowid, True
        row = await self.fetchone(
            "SELECT id FROM calls WHERE source = ? AND pbx_call_id = ?",
            (record.source, record.call_id),
        )
        return int(row[0]), False

    async def call_decision(self, call_id: int) -> str | None:
        """The decision recorded for a call, None while it has none."""
        value = await self.scalar("SELECT decision FROM calls WHERE id = ?", (call_id,))
        return str(value) if value is not None else None

    async def set_decision(
        self, call_id: int, department: str, after_hours: bool, decision: str
    ) -> None:
        await self.write_one(
            "UPDATE calls SET department = ?, after_hours = ?, decision = ? WHERE id = ?",
            (department, int(after_hours), decision, call_id),
        )

    async def mark_recovered(
        self, remote_e164: str, at: datetime, how: str, lookback: timedelta = RECOVERY_LOOKBACK
    ) -> int:
        """Mark earlier unanswered calls from this number recovered; returns how many."""
        async with self.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE calls SET recovered_at = ?, recovered_by = ? "
                "WHERE remote_e164 = ? AND direction = 'inbound' AND recovered_at IS NULL "
                "AND outcome IN ('missed','voicemail','abandoned_ivr','abandoned_queue','busy') "
                "AND ended_at <= ? AND ended_at >= ?",
                (ts(at), how, remote_e164, ts(at), ts(at - lookback)),
            )
            return cursor.rowcount

    async def answered_between(self, remote_e164: str, since: datetime, until: datetime) -> bool:
        """Did an answered call with this number (either way) end in [since, until]?"""
        row = await self.fetchone(
            "SELECT 1 FROM calls WHERE remote_e164 = ? AND outcome = 'answered' "
            "AND direction IN ('inbound','outbound') AND ended_at >= ? AND ended_at <= ? LIMIT 1",
            (remote_e164, ts(since), ts(until)),
        )
        return bool(row)

    # --- outbox ----------------------------------------------------------------------

    async def enqueue(
        self,
        *,
        call_id: int | None,
        to_e164: str,
        department: str,
        template: str,
        language: str,
        dedup_key: str,
        not_before: datetime,
        expires_at: datetime,
        now: datetime,
    ) -> int | None:
        """Queue a text; None when the dedup key already has one (never queued twice)."""
        cursor = await self.write_one(
            "INSERT OR IGNORE INTO messages (call_id, to_e164, department, template, "
            "language, dedup_key, state, not_before, expires_at, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?)",
            (
                call_id,
                to_e164,
                department,
                template,
                language,
                dedup_key,
                ts(not_before),
                ts(expires_at),
                ts(now),
                ts(now),
            ),
        )
        return cursor.lastrowid if cursor.rowcount == 1 else None

    async def claim_due(self, now: datetime, limit: int = 10) -> list[Message]:
        """Move due messages to `sending` (attempts + 1) and return them, committed.
        One statement under the write lock (so never inside another task's
        transaction): SQLite commits it on its own (autocommit, durable with
        synchronous=FULL) before the last row comes back, in one trip to its thread
        instead of three (BEGIN, UPDATE, COMMIT) holding the lock the pipeline waits on.
        """
        async with self._lock:
            rows = await self.conn.execute_fetchall(
                "UPDATE messages SET state = 'sending', attempts = attempts + 1, updated_at = ? "
                "WHERE id IN (SELECT id FROM messages WHERE state IN ('pending','retry_wait') "
                "AND not_before <= ? ORDER BY not_before, id LIMIT ?) "
                f"RETURNING {_MESSAGE_COLUMNS}",
                (ts(now), ts(now), limit),
            )
        return sorted((_message(tuple(r)) for r in rows), key=lambda m: (m.not_before, m.id))

    async def next_due_at(self) -> datetime | None:
        value = await self.scalar(
            "SELECT MIN(not_before) FROM messages WHERE state IN ('pending','retry_wait')"
        )
        return parse_ts(value) if value else None

    async def finish(
        self,
        message_id: int,
        *,
        state: MessageState,
        sender: str | None,
        started_at: datetime,
        now: datetime,
        result: str,
        detail: str = "",
        body: str | None = None,
        provider_id: str | None = None,
        not_before: datetime | None = None,
        resume: str | None = None,
    ) -> None:
        """Record one attempt and the message's new state in one transaction. The
        sender's `resume` token is kept for the next attempt (None clears it)."""
        async with self.transaction() as conn:
            await conn.execute(
                "INSERT INTO attempts (message_id, sender, started_at, finished_at, result, "
                "detail) VALUES (?, ?, ?, ?, ?, ?)",
                (message_id, sender, ts(started_at), ts(now), result, detail),
            )
            await conn.execute(
                "UPDATE messages SET state = ?, sender = COALESCE(?, sender), "
                "body = COALESCE(?, body), provider_id = COALESCE(?, provider_id), "
                "last_error = CASE WHEN ? = 'sent' THEN last_error ELSE ? END, "
                # a withdrawn text frees its (caller, window) slot for a later call
                "dedup_key = CASE WHEN ? = 'suppressed' THEN dedup_key || ':withdrawn:' || id "
                "ELSE dedup_key END, "
                "not_before = COALESCE(?, not_before), updated_at = ?, resume = ?, "
                "sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END WHERE id = ?",
                (
                    state.value,
                    sender,
                    body,
                    provider_id,
                    state.value,
                    detail or None,
                    state.value,
                    ts(not_before) if not_before else None,
                    ts(now),
                    resume,
                    state.value,
                    ts(now),
                    message_id,
                ),
            )

    async def defer_claimed(self, message_id: int, until: datetime, now: datetime) -> None:
        """Put a claimed message back, due at `until`, without counting an attempt
        (quiet hours began while it waited)."""
        async with self.transaction() as conn:
            await conn.execute(
                "UPDATE messages SET state = CASE WHEN attempts > 1 THEN 'retry_wait' "
                "ELSE 'pending' END, attempts = attempts - 1, not_before = ?, updated_at = ? "
                "WHERE id = ? AND state = 'sending'",
                (ts(until), ts(now), message_id),
            )

    async def suppress(self, message_id: int, reason: str, now: datetime) -> None:
        """Withdraw a message that was claimed or still open (recovered, opted out...)."""
        await self.finish(
            message_id,
            state=MessageState.SUPPRESSED,
            sender=None,
            started_at=now,
            now=now,
            result="suppressed",
            detail=reason,
        )

    async def recover_interrupted(self, now: datetime) -> tuple[int, int]:
        """Apply the crash rule; returns (requeued, moved to unknown)."""
        async with self.transaction() as conn:
            stuck = await conn.execute_fetchall(
                "SELECT id, interruptions FROM messages WHERE state = 'sending'"
            )
            requeued = unknown = 0
            for message_id, interruptions in stuck:
                again = interruptions == 0
                await conn.execute(
                    "INSERT INTO attempts (message_id, sender, started_at, finished_at, result, "
                    "detail) VALUES (?, NULL, ?, ?, 'interrupted', ?)",
                    (message_id, ts(now), ts(now), "ringback stopped during the send"),
                )
                await conn.execute(
                    "UPDATE messages SET state = ?, interruptions = interruptions + 1, "
                    "not_before = ?, updated_at = ?, last_error = ? WHERE id = ?",
                    (
                        "retry_wait" if again else "unknown",
                        ts(now),
                        ts(now),
                        "interrupted during send"
                        if again
                        else "interrupted twice during send: may or may not have been delivered",
                        message_id,
                    ),
                )
                requeued, unknown = requeued + again, unknown + (not again)
        return requeued, unknown

    # --- policy look-ups -------------------------------------------------------------

    async def is_opted_out(self, number_e164: str) -> bool:
        """True for a number that said STOP, in clear or erased (kept as its token)."""
        token = await self.erased_token(number_e164)
        return bool(await self.fetchone(_OPTED_OUT, (number_e164, token)))

    async def number_facts(
        self, number_e164: str, dedup_since: datetime, day_since: datetime, hour_since: datetime
    ) -> tuple[bool, int, int, int]:
        """What the policy reads about a number, in one query (one trip to SQLite's
        thread instead of four, and one snapshot): `is_opted_out`, `messages_to_since`
        `dedup_since` and `day_since`, `messages_since` `hour_since`."""
        token = await self.erased_token(number_e164)
        row = await self.fetchone(
            f"SELECT EXISTS ({_OPTED_OUT}), ({_TEXTS_TO}), ({_TEXTS_TO}), ({_TEXTS_SINCE})",
            (
                number_e164,
                token,
                number_e164,
                ts(dedup_since),
                number_e164,
                ts(day_since),
                ts(hour_since),
            ),
        )
        return bool(row[0]), int(row[1]), int(row[2]), int(row[3])

    async def erased_token(self, number_e164: str) -> str:
        """What an erased opt-out keeps of a number: a keyed hash (the site's salt), so
        the person is never texted again though the number is no longer stored."""
        if self._salt is None:
            self._salt = str(await self.scalar("SELECT value FROM meta WHERE key = 'optout_salt'"))
        digest = hmac.new(self._salt.encode(), number_e164.encode(), hashlib.sha256)
        return "erased:" + digest.hexdigest()

    async def set_opt_out(self, number_e164: str, keyword: str, origin: str, now: datetime) -> None:
        async with self.transaction() as conn:
            await conn.execute(
                "INSERT OR REPLACE INTO opt_outs (number_e164, at, keyword, origin) "
                "VALUES (?, ?, ?, ?)",
                (number_e164, ts(now), keyword, origin),
            )
            await conn.execute(
                "UPDATE messages SET state = 'suppressed', last_error = 'opted out', "
                "updated_at = ? WHERE to_e164 = ? AND state IN ('pending','retry_wait') "
                "AND template NOT IN ('help','stop_confirm')",
                (ts(now), number_e164),
            )

    async def clear_opt_out(self, number_e164: str) -> bool:
        async with self.transaction() as conn:
            cursor = await conn.execute(
                "DELETE FROM opt_outs WHERE number_e164 = ?", (number_e164,)
            )
            return cursor.rowcount > 0

    async def messages_to_since(self, number_e164: str, since: datetime) -> int:
        """Texts about missed calls queued or sent to a number since a time (suppressed,
        failed and HELP replies not counted)."""
        return int(await self.scalar(_TEXTS_TO, (number_e164, ts(since))))

    async def messages_since(self, since: datetime) -> int:
        return int(await self.scalar(_TEXTS_SINCE, (ts(since),)))

    async def add_reply(
        self, from_e164: str, body: str, received_at: datetime, sender: str, kind: str
    ) -> int:
        async with self.transaction() as conn:
            cursor = await conn.execute(
                "INSERT INTO replies (from_e164, body, received_at, sender, kind) "
                "VALUES (?, ?, ?, ?, ?)",
                (from_e164, body, ts(received_at), sender, kind),
            )
            return int(cursor.lastrowid or 0)

    # --- technician actions (ringback outbox), safe while the daemon runs ------------

    async def retry_message(self, message_id: int, expires_at: datetime, now: datetime) -> str:
        """A failed or unknown text back to `retry_wait`, due now. Returns the state it
        was in; nothing changes unless that state was failed or unknown."""
        return await self._technician(
            message_id,
            ("failed", "unknown"),
            "UPDATE messages SET state = 'retry_wait', not_before = ?, updated_at = ?, "
            "expires_at = MAX(expires_at, ?), last_error = 'retry asked by a technician' "
            "WHERE id = ? AND state IN ('failed','unknown')",
            (ts(now), ts(now), ts(expires_at), message_id),
            "retry_requested",
            now,
        )

    async def cancel_message(self, message_id: int, now: datetime) -> str:
        """A text not sent yet (pending, retry_wait) or of unknown fate to `suppressed`.
        Returns the state it was in; nothing changes for any other state."""
        return await self._technician(
            message_id,
            ("pending", "retry_wait", "unknown"),
            "UPDATE messages SET state = 'suppressed', updated_at = ?, "
            "last_error = 'cancelled by a technician' "
            "WHERE id = ? AND state IN ('pending','retry_wait','unknown')",
            (ts(now), message_id),
            "cancelled",
            now,
        )

    async def _technician(
        self,
        message_id: int,
        allowed: tuple[str, ...],
        update: str,
        params: Row,
        result: str,
        now: datetime,
    ) -> str:
        async with self.transaction() as conn:
            row = await self.fetchone("SELECT state FROM messages WHERE id = ?", (message_id,))
            if not row:
                return ""
            if row[0] in allowed:
                await conn.execute(update, params)
                await conn.execute(
                    "INSERT INTO attempts (message_id, sender, started_at, finished_at, result, "
                    "detail) VALUES (?, NULL, ?, ?, ?, 'ringback outbox')",
                    (message_id, ts(now), ts(now), result),
                )
            return str(row[0])

    async def message_counts(self) -> dict[str, int]:
        counts = dict.fromkeys((s.value for s in MessageState), 0)
        for state, count in await self.fetchall(
            "SELECT state, COUNT(*) FROM messages GROUP BY state"
        ):
            counts[state] = count
        return counts

    async def oldest_open_created_at(self) -> datetime | None:
        value = await self.scalar(
            "SELECT MIN(created_at) FROM messages WHERE state IN ('pending','retry_wait','sending')"
        )
        return parse_ts(value) if value else None

    # --- read-only views for the status API -----------------------------------------

    async def rows_after(
        self, table: str, columns: str, after_id: int, limit: int
    ) -> tuple[list[Row], int]:
        """Rows of a feed table whose last change (`change_seq`) is after `after_id`, in
        change order (at most `limit`), and the feed's highest change, read under the
        write lock: between transactions of this connection, so never a row that may
        still roll back (see agent/paging.py for why that makes cursors gap-free)."""
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


_FEED_TABLES = frozenset({"calls", "messages", "replies"})

_OPTED_OUT = "SELECT 1 FROM opt_outs WHERE number_e164 IN (?, ?)"
_TEXTS_TO = (
    "SELECT COUNT(*) FROM messages WHERE to_e164 = ? AND created_at >= ? "
    "AND state NOT IN ('suppressed','failed') AND template NOT IN ('help','stop_confirm')"
)
# The SMS-pumping guard counts texts to callers; staffing alerts and digests go to the
# dealership's own managers and never use up the callers' hourly budget.
_TEXTS_SINCE = (
    "SELECT COUNT(*) FROM messages WHERE created_at >= ? AND state NOT IN ('suppressed','failed') "
    "AND template NOT IN ('alert','digest')"
)


def _backup_path(path: Path, version: int) -> Path:
    """A backup name not yet taken: an earlier backup of the same schema is kept."""
    backup = path.with_name(f"{path.name}.schema{version}.bak")
    n = 1
    while backup.exists():
        backup = path.with_name(f"{path.name}.schema{version}.{n}.bak")
        n += 1
    return backup


def _check_directory(path: Path) -> None:
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


_INSERT_CALL = (
    "INSERT OR IGNORE INTO calls (source, pbx_call_id, started_at, ended_at, received_at, "
    "direction, outcome, caller_raw, caller_e164, remote_e164, caller_name, dialed, queue, "
    "ivr_path, ring_seconds, ivr_seconds, queue_seconds, talk_seconds, answered_by, extensions) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _call_params(record: CallRecord, remote_e164: str | None, received_at: datetime) -> Row:
    return (
        record.source,
        record.call_id,
        ts(record.started_at),
        ts(record.ended_at),
        ts(received_at),
        record.direction.value,
        record.outcome.value,
        record.caller_raw,
        record.caller_e164,
        remote_e164,
        record.caller_name,
        record.dialed,
        record.queue,
        record.ivr_path,
        record.ring_seconds,
        record.ivr_seconds,
        record.queue_seconds,
        record.talk_seconds,
        record.answered_by,
        ",".join(record.extensions),
    )


_MESSAGE_COLUMNS = (
    "id, call_id, to_e164, department, template, state, not_before, expires_at, attempts, "
    "created_at, body, language, sender, resume"
)


def _message(row: Row) -> Message:
    return Message(
        id=row[0],
        call_id=row[1],
        to_e164=row[2],
        department=row[3],
        template=row[4],
        state=MessageState(row[5]),
        not_before=parse_ts(row[6]),
        expires_at=parse_ts(row[7]),
        attempts=row[8],
        created_at=parse_ts(row[9]),
        body=row[10],
        language=row[11],
        sender=row[12],
        resume=row[13],
    )
