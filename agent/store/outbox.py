"""The outbox: texts queued, claimed, sent, retried or withdrawn, and the technician's
actions on them (`ringback outbox`), safe while the daemon runs.

Crash rule: a message claimed for sending is committed as `sending` (with its attempt
counted) before any sender sees it. A message found `sending` at start-up was
interrupted mid-send: it is requeued once (`retry_wait`, attempt recorded as
`interrupted`); if it had already been interrupted before, it goes to `unknown` for a
technician, so a message that crashes the daemon cannot loop.
"""

from __future__ import annotations

import sqlite3
from asyncio import current_task
from datetime import datetime
from functools import partial
from typing import Protocol

from agent.model import Message, MessageState
from agent.store.base import Row, StoreBase, parse_ts, ts
from agent.store.lend import Statements
from agent.store.schema import NEXT_CHANGE


class OutboxStore(StoreBase):
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
        """Queue a text; None when the dedup key already has one (never queued twice).

        Inside the task's open transaction (or a unit), one statement of it. Alone, it
        is its own transaction: the INSERT in SQLite's autocommit (durable with
        synchronous=FULL before it returns), run with its id read back in one trip to
        SQLite's thread (`_insert`). When another write holds the store, it joins the
        next group commit instead of waiting for its own (agent/store/group.py)."""
        stamp = ts(now)
        row = (
            call_id,
            to_e164,
            department,
            template,
            language,
            dedup_key,
            ts(not_before),
            ts(expires_at),
            stamp,
            stamp,
        )
        if self._in_unit() or (self._owner is not None and self._owner is current_task()):
            return _queued(await self.conn.execute(_ENQUEUE, row))
        if self._lock.locked():  # a write is under way: share the next commit
            return await self.atomic(partial(self._enqueue_in_unit, row))
        async with self._lock:
            try:
                message_id = await Statements(self.conn).call(partial(_insert, row))
            except sqlite3.OperationalError as err:
                self.note_write(err)
                raise
            self.note_write(None)
            return message_id

    async def _enqueue_in_unit(self, row: Row) -> int | None:
        return _queued(await self.conn.execute(_ENQUEUE, row))

    async def claim_due(self, now: datetime, limit: int = 10) -> list[Message]:
        """Move due messages to `sending` (attempts + 1) and return them, committed.
        One statement under the write lock (so never inside another task's
        transaction): SQLite commits it on its own (autocommit, durable with
        synchronous=FULL) before the last row comes back, in one trip to its thread
        instead of three (BEGIN, UPDATE, COMMIT) holding the lock the pipeline waits on.
        """
        async with self._lock:
            try:
                rows = await self.conn.execute_fetchall(
                    "UPDATE messages SET state = 'sending', attempts = attempts + 1, "
                    "updated_at = ? WHERE id IN (SELECT id FROM messages WHERE state IN "
                    "('pending','retry_wait') AND not_before <= ? ORDER BY not_before, id "
                    f"LIMIT ?) RETURNING {_MESSAGE_COLUMNS}",
                    (ts(now), ts(now), limit),
                )
            except sqlite3.OperationalError as err:
                self.note_write(err)
                raise
            if rows:
                self.note_write(None)
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

    async def set_template(self, message_id: int, template: str) -> None:
        """The template a text is sent with, chosen again when it leaves."""
        async with self.transaction() as conn:
            await conn.execute(
                "UPDATE messages SET template = ? WHERE id = ?", (template, message_id)
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


_ENQUEUE = (
    "INSERT OR IGNORE INTO messages (call_id, to_e164, department, template, language, "
    "dedup_key, state, not_before, expires_at, created_at, updated_at, change_seq) "
    f"VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, {NEXT_CHANGE})"
)


class _Inserted(Protocol):
    @property
    def lastrowid(self) -> int | None: ...
    @property
    def rowcount(self) -> int: ...


def _queued(cursor: _Inserted) -> int | None:
    """The new message's id, None when INSERT OR IGNORE found its dedup key taken."""
    return cursor.lastrowid if cursor.rowcount == 1 else None


def _insert(row: Row, raw: sqlite3.Connection) -> int | None:
    """On SQLite's thread: the enqueue as one autocommit statement, its id read back."""
    return _queued(raw.execute(_ENQUEUE, row))


_MESSAGE_COLUMNS = (
    "id, call_id, to_e164, department, template, state, not_before, expires_at, attempts, "
    "created_at, body, language, sender, resume, via"
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
        via=row[14],
    )
