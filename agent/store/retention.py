"""Keep only the personal data the law allows (Quebec's Law 25, PIPEDA, GDPR and peers).

Every day (and once at start) the daemon anonymises what is older than
`storage.retention_days`: a call keeps its times, durations, direction, outcome,
department, decision and recovery, so the reports still count it, but loses the
caller's number (raw and E.164), name, and for a call the dealership placed, the
number it dialled. A text keeps its state, department, template, times and sender
but loses its destination, body, dedup key and provider id. A reply keeps its kind
and time, not its sender or words. A closed recovery case keeps its figures (times,
department, resolution, attempts and who reached the caller) but loses the caller's
number and the staff's notes. Open texts (pending, retry_wait, sending) are
never touched. Migration backups (`ringback.db.schemaN.bak`) older than the limit are
deleted: they hold the same personal data.

Opt-outs are kept as they are: the person's own request not to be texted is the
legal basis for keeping their number (a deleted opt-out would let the next missed
call text them again). `ringback purge --number N` erases one person at once, at any
age: their calls, texts, replies and recovery cases are anonymised (an open case is
closed `not_needed`), their queued texts withdrawn (one
being sent at that very moment finishes: run purge again), and their opt-out (one is
always recorded: asking to be forgotten is also asking not to be texted) keeps only a
keyed hash of the number (`Store.erased_token`), which the policy still matches.

Deleted and overwritten values are zeroed in the file (`secure_delete`) and the WAL
is checkpointed, so the old values do not linger in free pages.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from agent.plural import counted
from agent.store import Store, ts

log = logging.getLogger(__name__)

DAY_SECONDS = 86400.0
OPEN_STATES = "('pending','retry_wait','sending')"

_CALLS = (
    "UPDATE calls SET caller_raw = '', caller_e164 = NULL, remote_e164 = NULL, "
    "caller_name = NULL, dialed = CASE WHEN direction = 'inbound' THEN dialed ELSE NULL END, "
    "anonymised_at = ? WHERE anonymised_at IS NULL AND "
)
_MESSAGES = (
    "UPDATE messages SET to_e164 = '', body = NULL, provider_id = NULL, "
    "dedup_key = 'anonymised:' || id, anonymised_at = ? WHERE anonymised_at IS NULL AND "
)
_CASES = (
    "UPDATE cases SET caller_e164 = NULL, caller_raw = '', note = NULL, updated_at = ? "
    "WHERE (caller_e164 IS NOT NULL OR caller_raw != '' OR note IS NOT NULL) AND "
)
_CASE_NOTES = (
    "UPDATE case_actions SET detail = '' WHERE action IN ('note', 'closed') AND detail != '' "
    "AND case_id IN "
)
_TWO_WAY = (("number_facts", "at"), ("deliveries", "received_at"), ("inbound_seen", "at"))
_REPLIES = "UPDATE replies SET from_e164 = '', body = '' WHERE from_e164 != '' AND "


@dataclass(frozen=True, slots=True)
class Anonymised:
    calls: int = 0
    messages: int = 0
    replies: int = 0
    withdrawn: int = 0
    backups: int = 0

    def __str__(self) -> str:
        return (
            f"{counted(self.calls, 'call', 'calls')}, "
            f"{counted(self.messages, 'text', 'texts')}, "
            f"{counted(self.replies, 'reply', 'replies')} anonymised, "
            f"{counted(self.withdrawn, 'open text', 'open texts')} withdrawn, "
            f"{counted(self.backups, 'old backup', 'old backups')} deleted"
        )


async def apply_retention(store: Store, retention_days: int, now: datetime) -> Anonymised:
    """Anonymise everything older than `retention_days`; idempotent."""
    cutoff = ts(now - timedelta(days=retention_days))
    stamp = ts(now)
    await store.fetchone("PRAGMA secure_delete=ON")
    async with store.transaction() as conn:
        calls = await conn.execute(_CALLS + "ended_at < ?", (stamp, cutoff))
        messages = await conn.execute(
            _MESSAGES + f"created_at < ? AND state NOT IN {OPEN_STATES}", (stamp, cutoff)
        )
        replies = await conn.execute(_REPLIES + "received_at < ?", (cutoff,))
        closed = "state = 'closed' AND closed_at < ?"
        await conn.execute(_CASE_NOTES + f"(SELECT id FROM cases WHERE {closed})", (cutoff,))
        await conn.execute(_CASES + closed, (stamp, cutoff))
        for table, column in _TWO_WAY:  # what providers said, by number or SID
            await conn.execute(f"DELETE FROM {table} WHERE {column} < ?", (cutoff,))
        done = Anonymised(calls.rowcount, messages.rowcount, replies.rowcount)
    backups = _delete_old_backups(store.path, now - timedelta(days=retention_days))
    await _checkpoint(store)
    return Anonymised(done.calls, done.messages, done.replies, 0, backups)


async def purge_number(store: Store, number_e164: str, now: datetime) -> Anonymised:
    """Erase one person: anonymise their calls, texts and replies at any age, withdraw
    their open texts, and keep their opt-out only as a keyed hash."""
    stamp = ts(now)
    token = await store.erased_token(number_e164)
    await store.fetchone("PRAGMA secure_delete=ON")
    async with store.transaction() as conn:
        withdrawn = await conn.execute(
            "UPDATE messages SET state = 'suppressed', last_error = 'erased on request', "
            "updated_at = ? WHERE to_e164 = ? AND state IN ('pending','retry_wait')",
            (stamp, number_e164),
        )
        messages = await conn.execute(
            _MESSAGES + f"to_e164 = ? AND state NOT IN {OPEN_STATES}", (stamp, number_e164)
        )
        calls = await conn.execute(
            _CALLS + "(remote_e164 = ? OR caller_e164 = ? OR (direction != 'inbound' AND "
            "dialed = ?))",
            (stamp, number_e164, number_e164, number_e164),
        )
        replies = await conn.execute(_REPLIES + "from_e164 = ?", (number_e164,))
        await conn.execute(
            "UPDATE cases SET state = 'closed', resolution = 'not_needed', closed_at = ?, "
            "closed_by = 'erasure', updated_at = ? WHERE caller_e164 = ? AND state = 'open'",
            (stamp, stamp, number_e164),
        )
        await conn.execute(
            _CASE_NOTES + "(SELECT id FROM cases WHERE caller_e164 = ?)", (number_e164,)
        )
        await conn.execute(_CASES + "caller_e164 = ?", (stamp, number_e164))
        opted = await store.fetchone(
            "SELECT at, keyword, origin FROM opt_outs WHERE number_e164 = ?", (number_e164,)
        )
        await conn.execute("DELETE FROM opt_outs WHERE number_e164 = ?", (number_e164,))
        await conn.execute("DELETE FROM number_facts WHERE number_e164 = ?", (number_e164,))
        at, keyword, origin = opted or (stamp, "ERASE", "erasure request")
        await conn.execute(
            "INSERT OR REPLACE INTO opt_outs (number_e164, at, keyword, origin) "
            "VALUES (?, ?, ?, ?)",
            (token, at, keyword, origin),
        )
    await _checkpoint(store)
    return Anonymised(calls.rowcount, messages.rowcount, replies.rowcount, withdrawn.rowcount)


def _delete_old_backups(db: Path, before: datetime) -> int:
    removed = 0
    for backup in db.parent.glob(f"{db.name}.schema*.bak"):
        try:
            if backup.stat().st_mtime < before.timestamp():
                backup.unlink()
                removed += 1
        except OSError as err:
            log.warning("retention: cannot delete the old backup %s: %s", backup, err.strerror)
    return removed


async def _checkpoint(store: Store) -> None:
    # between transactions (inside one SQLite refuses: "database table is locked"),
    # its row read to the end (a statement left stepping blocks the next SAVEPOINT)
    async with store.between_transactions():
        await store.fetchone("PRAGMA wal_checkpoint(TRUNCATE)")


async def retention_loop(
    store: Store,
    retention_days: int,
    clock: Callable[[], datetime],
    every: float = DAY_SECONDS,
) -> None:
    """The daemon's daily job: once at start, then every `every` seconds. A failure is
    logged and tried again at the next run; it never stops the daemon."""
    while True:
        try:
            done = await apply_retention(store, retention_days, clock())
        except Exception as err:
            log.error("retention: could not anonymise old data (retried tomorrow): %s", err)
        else:
            if done != Anonymised():
                log.info("retention (%d days): %s", retention_days, done)
        await asyncio.sleep(every)
