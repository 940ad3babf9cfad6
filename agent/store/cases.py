"""Recovery cases in the store: opened and joined by missed calls, worked by calls back
(attempts) and by staff, closed on proof, by staff or by expiry.

The rules live in `agent.cases`; this module is their SQL. Every change to a case
stamps `updated_at` (which moves its `change_seq`, so `/v1/cases` serves it again),
adds a line to its timeline (`case_actions`: who, what, when) and, when staff or the
dealership's CRM must hear of it (a new case, a caller's reply, an escalation; a case
reached or closed), writes a row into `case_notifications` in the same transaction
for the notifier to deliver. Every write
runs in `transaction()`, so called inside the pipeline's it is part of that commit.

Staff actions on a case that does not exist, or that its state forbids (closing a
closed case), raise `CaseError` with a stable `reason` (`not_found`, `conflict`).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

from agent.model import AttemptResult, Resolution
from agent.store.base import StoreBase, ts
from agent.store.schema import NEXT_CHANGE

SYSTEM = "ringback"

# A miss opens a case, or joins the one open for its (caller, department): the join
# counts the call, appends its id and moves the last miss (never back) and the touch.
_OPEN_OR_JOIN = (
    "INSERT INTO cases (caller_e164, caller_raw, department, state, callback_possible, "
    "calls, call_ids, opened_at, last_miss_at, sla_due_at, touched_at, updated_at, change_seq) "
    f"VALUES (?, ?, ?, 'open', ?, 1, ?, ?, ?, ?, ?, ?, {NEXT_CHANGE}) "
    "ON CONFLICT (caller_e164, department) WHERE state = 'open' DO UPDATE SET "
    "calls = calls + 1, call_ids = call_ids || ',' || excluded.call_ids, "
    "last_miss_at = MAX(last_miss_at, excluded.last_miss_at), "
    "touched_at = excluded.touched_at, updated_at = excluded.updated_at "
    "RETURNING id, calls"
)


class CaseError(Exception):
    """A staff action the case cannot take; `reason` is `not_found` or `conflict`."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Miss:
    """A missed call that opens or joins a case."""

    call_id: int
    caller_e164: str | None
    caller_raw: str
    department: str
    missed_at: datetime
    sla_due_at: datetime | None
    notify_at: datetime


@dataclass(frozen=True, slots=True)
class Contact:
    """A call between a case's caller and the dealership after the first miss."""

    call_id: int
    at: datetime
    direction: str
    extension: str | None
    talk_seconds: float
    result: AttemptResult


class CaseStore(StoreBase):
    async def open_or_join_case(self, miss: Miss, now: datetime) -> tuple[int, bool]:
        """(case id, True) for a new case, (id, False) when the miss joined the case
        already open for its (caller, department). A withheld caller has no number to
        join on: each of their misses is its own case, marked callback impossible."""
        async with self.transaction():
            # One statement finds or opens it: the insert meets the caller's open case
            # in `cases_one_open` and joins it instead (a withheld caller, NULL, never
            # meets one). `calls` starts at 1 and only grows: 1 is a case just opened.
            row = await self.fetchone(
                _OPEN_OR_JOIN,
                (
                    miss.caller_e164,
                    miss.caller_raw,
                    miss.department,
                    int(miss.caller_e164 is not None),
                    str(miss.call_id),
                    ts(miss.missed_at),
                    ts(miss.missed_at),
                    ts(miss.sla_due_at) if miss.sla_due_at else None,
                    ts(now),
                    ts(now),
                ),
            )
            case_id, opened = int(row[0]), row[1] == 1
            await self._link_call(case_id, miss.call_id)
            if not opened:
                await self._act(case_id, now, SYSTEM, "joined", "", miss.call_id)
                return case_id, False
            await self._act(case_id, now, SYSTEM, "opened", "", miss.call_id)
            await self._notify(case_id, miss.department, "opened", None, now, miss.notify_at)
            return case_id, True

    async def open_cases_of(self, caller_e164: str, since: datetime) -> list[tuple[int, str]]:
        """(id, department) of the caller's open cases whose first miss is not after
        `since` (a call before the first miss proves nothing about it)."""
        rows = await self.fetchall(
            "SELECT id, department FROM cases WHERE caller_e164 = ? AND state = 'open' "
            "AND opened_at <= ? ORDER BY id",
            (caller_e164, ts(since)),
        )
        return [(int(i), str(d)) for i, d in rows]

    async def record_contact(self, case_id: int, contact: Contact, now: datetime) -> bool:
        """A call back (or the caller's answered call): an attempt on the case, and its
        proof when `contact.result` is `reached` (the case closes as `reached` with the
        call, the extension and the time). False when this call was already counted."""
        async with self.transaction() as conn:
            cursor = await conn.execute(
                "INSERT OR IGNORE INTO case_attempts (case_id, call_id, at, direction, "
                "extension, talk_seconds, result) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    case_id,
                    contact.call_id,
                    ts(contact.at),
                    contact.direction,
                    contact.extension,
                    contact.talk_seconds,
                    contact.result.value,
                ),
            )
            if cursor.rowcount != 1:
                return False
            at = ts(contact.at)
            await conn.execute(
                "UPDATE cases SET attempts = attempts + 1, "
                "first_attempt_at = MIN(COALESCE(first_attempt_at, ?), ?), "
                "touched_at = ?, updated_at = ? WHERE id = ?",
                (at, at, ts(now), ts(now), case_id),
            )
            detail = f"{contact.direction} {contact.result.value} {contact.talk_seconds:.0f}s"
            actor = contact.extension or "pbx"
            await self._act(case_id, now, actor, "attempt", detail, contact.call_id)
            if contact.result is AttemptResult.REACHED:
                await conn.execute(
                    "UPDATE cases SET state = 'closed', resolution = ?, reached_at = ?, "
                    "reached_by = ?, proof_call_id = ?, closed_at = ?, closed_by = ?, "
                    "updated_at = ? WHERE id = ?",
                    (
                        Resolution.REACHED.value,
                        at,
                        contact.extension,
                        contact.call_id,
                        at,
                        actor,
                        ts(now),
                        case_id,
                    ),
                )
                await self._act(case_id, now, actor, "reached", "", contact.call_id)
                await self._event(case_id, "reached", now)
            return True

    async def mark_replied(
        self,
        caller_e164: str,
        reply_id: int,
        at: datetime,
        default_department: str,
        now: datetime,
    ) -> list[int]:
        """A reply from the caller marks each of their open cases `replied` (they stay
        open) and asks for a staff notification per case; a reply from a number with
        no open case asks for one to the default department. Returns the case ids."""
        async with self.transaction() as conn:
            rows = await self.fetchall(
                "SELECT id, department FROM cases WHERE caller_e164 = ? AND state = 'open' "
                "ORDER BY id",
                (caller_e164,),
            )
            for case_id, department in rows:
                await conn.execute(
                    "UPDATE cases SET replied_at = COALESCE(replied_at, ?), touched_at = ?, "
                    "updated_at = ? WHERE id = ?",
                    (ts(at), ts(now), ts(now), case_id),
                )
                await self._act(int(case_id), now, "caller", "replied", "", reply_id)
                await self._notify(int(case_id), str(department), "reply", reply_id, now, now)
            if not rows:
                await self._notify(None, default_department, "reply", reply_id, now, now)
            return [int(r[0]) for r in rows]

    # --- staff -------------------------------------------------------------------------

    async def claim_case(self, case_id: int, owner: str, now: datetime) -> None:
        async with self.transaction() as conn:
            await self._state_of(case_id, "open")
            await conn.execute(
                "UPDATE cases SET owner = ?, touched_at = ?, updated_at = ? WHERE id = ?",
                (owner, ts(now), ts(now), case_id),
            )
            await self._act(case_id, now, owner, "claimed", "")

    async def note_case(self, case_id: int, note: str, actor: str, now: datetime) -> None:
        async with self.transaction() as conn:
            await self._state_of(case_id, None)
            await conn.execute(
                "UPDATE cases SET note = ?, touched_at = ?, updated_at = ? WHERE id = ?",
                (note, ts(now), ts(now), case_id),
            )
            await self._act(case_id, now, actor, "note", note)

    async def close_case(
        self, case_id: int, resolution: Resolution, note: str, actor: str, now: datetime
    ) -> None:
        """Staff close an open case with a resolution (the caller checks it is one of
        `STAFF_RESOLUTIONS`) and a note."""
        async with self.transaction() as conn:
            await self._state_of(case_id, "open")
            await conn.execute(
                "UPDATE cases SET state = 'closed', resolution = ?, note = COALESCE(?, note), "
                "closed_at = ?, closed_by = ?, touched_at = ?, updated_at = ? WHERE id = ?",
                (resolution.value, note or None, ts(now), actor, ts(now), ts(now), case_id),
            )
            await self._act(case_id, now, actor, "closed", f"{resolution.value} {note}".strip())
            await self._event(case_id, "closed", now)

    async def reopen_case(self, case_id: int, actor: str, now: datetime) -> None:
        """Reopen a case closed on a callback that only reached voicemail: the callback
        stays as an attempt (`voicemail`), the proof goes; staff then close it with
        the resolution that fits. Refused when another case of the same caller and
        department has opened since (`conflict`)."""
        async with self.transaction() as conn:
            row = await self.fetchone(
                "SELECT state, resolution, proof_call_id FROM cases WHERE id = ?", (case_id,)
            )
            if not row:
                raise CaseError("not_found", f"no case {case_id}")
            if row[0] != "closed" or row[1] != Resolution.REACHED.value:
                raise CaseError(
                    "conflict", f"case {case_id} is not closed on a callback (nothing to reopen)"
                )
            try:
                await conn.execute(
                    "UPDATE cases SET state = 'open', resolution = NULL, reached_at = NULL, "
                    "reached_by = NULL, proof_call_id = NULL, closed_at = NULL, "
                    "closed_by = NULL, touched_at = ?, updated_at = ? WHERE id = ?",
                    (ts(now), ts(now), case_id),
                )
            except sqlite3.IntegrityError:
                raise CaseError(
                    "conflict",
                    f"case {case_id} cannot reopen: a newer case of this caller is open",
                ) from None
            await conn.execute(
                "UPDATE case_attempts SET result = ? WHERE case_id = ? AND call_id = ?",
                (AttemptResult.VOICEMAIL.value, case_id, row[2]),
            )
            await self._act(case_id, now, actor, "reopened", "callback reached voicemail", row[2])

    # --- the periodic sweep ----------------------------------------------------------

    async def escalate_due(self, now: datetime) -> list[int]:
        """Open cases past their SLA with no attempt yet, not escalated before (and a
        number to call back): stamped `escalated_at` and a notification asked for."""
        async with self.transaction() as conn:
            rows = await self.fetchall(
                "SELECT id, department FROM cases WHERE state = 'open' AND escalated_at IS NULL "
                "AND first_attempt_at IS NULL AND callback_possible = 1 "
                "AND sla_due_at IS NOT NULL AND sla_due_at <= ?",
                (ts(now),),
            )
            for case_id, department in rows:
                await conn.execute(
                    "UPDATE cases SET escalated_at = ?, updated_at = ? WHERE id = ?",
                    (ts(now), ts(now), case_id),
                )
                await self._act(int(case_id), now, SYSTEM, "escalated", "past its SLA")
                await self._notify(int(case_id), str(department), "escalated", None, now, now)
            return [int(r[0]) for r in rows]

    async def expire_untouched(self, before: datetime, now: datetime) -> list[int]:
        """Open cases nobody and nothing touched since `before`: closed as `expired`."""
        async with self.transaction() as conn:
            rows = await self.fetchall(
                "SELECT id FROM cases WHERE state = 'open' AND touched_at < ?", (ts(before),)
            )
            for (case_id,) in rows:
                await conn.execute(
                    "UPDATE cases SET state = 'closed', resolution = ?, closed_at = ?, "
                    "closed_by = ?, updated_at = ? WHERE id = ?",
                    (Resolution.EXPIRED.value, ts(now), SYSTEM, ts(now), case_id),
                )
                await self._act(int(case_id), now, SYSTEM, "expired", "")
                await self._event(int(case_id), "closed", now)
            return [int(r[0]) for r in rows]

    # --- parts -------------------------------------------------------------------------

    async def log_staff_attempt(
        self,
        case_id: int,
        actor: str,
        result: AttemptResult,
        note: str,
        now: datetime,
        *,
        refused: bool = False,
    ) -> None:
        """A call back made where the PBX cannot show it (another phone system, a cell
        phone), logged by hand: an attempt, never proof; `reached` closes the case as
        `reached_elsewhere` with the staff's word for it. `refused`: a click-to-call
        the PBX did not place, whose `note` is its `call failed: …` form (the desk's
        `call_failed`), stored as the action's detail alone so that no typed note
        reads as one."""
        async with self.transaction() as conn:
            await self._state_of(case_id, "open")
            at = ts(now)
            await conn.execute(
                "INSERT INTO case_attempts (case_id, call_id, at, direction, extension, "
                "talk_seconds, result) VALUES (?, NULL, ?, 'logged', ?, 0, ?)",
                (case_id, at, actor, result.value),
            )
            await conn.execute(
                "UPDATE cases SET attempts = attempts + 1, "
                "first_attempt_at = MIN(COALESCE(first_attempt_at, ?), ?), "
                "touched_at = ?, updated_at = ? WHERE id = ?",
                (at, at, at, at, case_id),
            )
            detail = note if refused else f"logged {result.value} {note}".strip()
            await self._act(case_id, now, actor, "attempt", detail)
            if result is AttemptResult.REACHED:
                await conn.execute(
                    "UPDATE cases SET state = 'closed', resolution = ?, closed_at = ?, "
                    "closed_by = ?, note = COALESCE(?, note), updated_at = ? WHERE id = ?",
                    (Resolution.REACHED_ELSEWHERE.value, at, actor, note or None, at, case_id),
                )
                await self._act(case_id, now, actor, "closed", Resolution.REACHED_ELSEWHERE.value)
                await self._event(case_id, "closed", now)

    async def case_event(
        self, case_id: int, actor: str, action: str, detail: str, now: datetime
    ) -> None:
        """A line on the case's timeline for something staff did outside the case's
        own fields (a click-to-call asked of the PBX)."""
        async with self.transaction() as conn:
            await self._state_of(case_id, None)
            await conn.execute(
                "UPDATE cases SET touched_at = ?, updated_at = ? WHERE id = ?",
                (ts(now), ts(now), case_id),
            )
            await self._act(case_id, now, actor, action, detail)

    async def _state_of(self, case_id: int, wanted: str | None) -> str:
        state = await self.scalar("SELECT state FROM cases WHERE id = ?", (case_id,))
        if state is None:
            raise CaseError("not_found", f"no case {case_id}")
        if wanted is not None and state != wanted:
            raise CaseError("conflict", f"case {case_id} is {state}")
        return str(state)

    async def _link_call(self, case_id: int, call_id: int) -> None:
        await self.conn.execute(
            "INSERT OR IGNORE INTO case_calls (case_id, call_id) VALUES (?, ?)",
            (case_id, call_id),
        )

    async def _act(
        self,
        case_id: int,
        now: datetime,
        actor: str,
        action: str,
        detail: str,
        ref_id: int | None = None,
    ) -> None:
        await self.conn.execute(
            "INSERT INTO case_actions (case_id, at, actor, action, detail, ref_id) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (case_id, ts(now), actor, action, detail, ref_id),
        )

    async def _notify(
        self,
        case_id: int | None,
        department: str,
        kind: str,
        reply_id: int | None,
        now: datetime,
        not_before: datetime,
    ) -> None:
        await self.conn.execute(
            "INSERT INTO case_notifications (case_id, department, kind, reply_id, created_at, "
            "not_before) VALUES (?, ?, ?, ?, ?, ?)",
            (case_id, department, kind, reply_id, ts(now), ts(not_before)),
        )

    async def _event(self, case_id: int, kind: str, now: datetime) -> None:
        """A case reached or closed: a row for whoever hears of it (the CRM's webhook;
        a department without one fans it out to no channel)."""
        await self.conn.execute(
            "INSERT INTO case_notifications (case_id, department, kind, created_at, not_before) "
            "SELECT id, department, ?, ?, ? FROM cases WHERE id = ?",
            (kind, ts(now), ts(now), case_id),
        )
