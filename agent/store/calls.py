"""Calls in the store: stored once per PBX call, decided, marked recovered."""

from __future__ import annotations

from datetime import datetime, timedelta

from agent.model import CallRecord
from agent.store.base import Row, StoreBase, ts
from agent.store.schema import NEXT_CHANGE

# How far back an answered call or a reply marks earlier unanswered calls recovered.
RECOVERY_LOOKBACK = timedelta(days=7)
# (department, after_hours, decision label) of a call decided before it is stored
Decided = tuple[str, bool, str]


class CallStore(StoreBase):
    async def insert_call(
        self,
        record: CallRecord,
        remote_e164: str | None,
        received_at: datetime,
        decided: Decided | None = None,
        fill_caller: bool = False,
    ) -> tuple[int, bool]:
        """Store a finished call, with its decision when it is known already (one
        statement, where a later `set_decision` would be a second one and a second
        change of the row); (row id, True) or (existing row id, False) if seen (the
        row is then left as it was). With `fill_caller`, a record without a
        `caller_e164` is stored with `remote_e164` as its caller's (the pipeline's
        inbound calls: no copy of the record to fill it)."""
        params = _call_params(record, remote_e164, received_at, decided, fill_caller)
        cursor = await self.write_one(_INSERT_CALL, params)
        if cursor.rowcount == 1 and cursor.lastrowid is not None:
            return cursor.lastrowid, True
        row = await self.fetchone(
            "SELECT id FROM calls WHERE source = ? AND pbx_call_id = ?",
            (record.source, record.call_id),
        )
        return int(row[0]), False

    async def last_call_ended_at(self, source: str) -> datetime | None:
        """When the last call stored from `source` ended (None: none yet)."""
        value = await self.scalar(
            "SELECT ended_at FROM calls WHERE source = ? ORDER BY ended_at DESC LIMIT 1",
            (source,),
        )
        return datetime.fromisoformat(str(value)) if value is not None else None

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


_INSERT_CALL = (
    "INSERT OR IGNORE INTO calls (source, pbx_call_id, started_at, ended_at, received_at, "
    "direction, outcome, caller_raw, caller_e164, remote_e164, caller_name, dialed, queue, "
    "ivr_path, ring_seconds, ivr_seconds, queue_seconds, talk_seconds, answered_by, extensions, "
    "evidence, department, after_hours, decision, change_seq) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
    f"{NEXT_CHANGE})"
)


def _call_params(
    record: CallRecord,
    remote_e164: str | None,
    received_at: datetime,
    decided: Decided | None,
    fill_caller: bool = False,
) -> Row:
    department, after_hours, decision = decided or (None, False, None)
    caller_e164 = record.caller_e164
    if caller_e164 is None and fill_caller:
        caller_e164 = remote_e164
    return (
        record.source,
        record.call_id,
        ts(record.started_at),
        ts(record.ended_at),
        ts(received_at),
        record.direction.value,
        record.outcome.value,
        record.caller_raw,
        caller_e164,
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
        record.evidence.value,
        department,
        int(after_hours),
        decision,
    )
