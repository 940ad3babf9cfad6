"""Staff notifications in the store: the queue `agent.cases.notify` drains.

A case's change writes one `case_notifications` row with no `target` (see
`agent.store.cases`). The notifier fans it out into one row per channel (`target`),
in one transaction, and the parent becomes `fanned`. Each channel row is then tried
on its own: `sent`, put back with its attempts, `last_error` and next try
(`not_before`), `failed` once given up, or `dropped` when its channel left the
configuration. The morning list of open cases is a row like the others (kind
`morning_list`, no case), written once a local day per department: its key in the
`alerts` table keeps that true across restarts.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from agent.store.base import StoreBase, ts

NOTIFICATION_COLUMNS = (
    "id",
    "case_id",
    "department",
    "kind",
    "reply_id",
    "created_at",
    "not_before",
    "state",
    "attempts",
    "last_error",
    "target",
)


class NotificationStore(StoreBase):
    async def due_notifications(self, now: datetime, limit: int = 50) -> list[dict[str, Any]]:
        """Pending notifications due at `now`, oldest first."""
        rows = await self.fetchall(
            f"SELECT {', '.join(NOTIFICATION_COLUMNS)} FROM case_notifications "
            "WHERE state = 'pending' AND not_before <= ? ORDER BY id LIMIT ?",
            (ts(now), limit),
        )
        return [dict(zip(NOTIFICATION_COLUMNS, row, strict=True)) for row in rows]

    async def next_notification_at(self) -> str | None:
        value = await self.scalar(
            "SELECT MIN(not_before) FROM case_notifications WHERE state = 'pending'"
        )
        return str(value) if value else None

    async def fan_out(self, parent: dict[str, Any], targets: list[str], now: datetime) -> None:
        """One row per target, due now; the parent is `fanned` (`no_channel` when the
        department has none)."""
        async with self.transaction() as conn:
            for target in targets:
                await conn.execute(
                    "INSERT INTO case_notifications (case_id, department, kind, reply_id, "
                    "created_at, not_before, target) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        parent["case_id"],
                        parent["department"],
                        parent["kind"],
                        parent["reply_id"],
                        parent["created_at"],
                        ts(now),
                        target,
                    ),
                )
            await conn.execute(
                "UPDATE case_notifications SET state = ?, sent_at = ? WHERE id = ?",
                ("fanned" if targets else "no_channel", ts(now), parent["id"]),
            )

    async def notification_done(self, row_id: int, now: datetime) -> None:
        async with self.transaction() as conn:
            await conn.execute(
                "UPDATE case_notifications SET state = 'sent', attempts = attempts + 1, "
                "sent_at = ?, tried_at = ?, last_error = NULL WHERE id = ?",
                (ts(now), ts(now), row_id),
            )

    async def notification_failed(
        self, row_id: int, reason: str, next_at: datetime | None, now: datetime
    ) -> None:
        """A failed try: due again at `next_at`, or `failed` for good when None."""
        async with self.transaction() as conn:
            await conn.execute(
                "UPDATE case_notifications SET state = ?, attempts = attempts + 1, "
                "last_error = ?, tried_at = ?, not_before = COALESCE(?, not_before) "
                "WHERE id = ?",
                (
                    "pending" if next_at else "failed",
                    reason,
                    ts(now),
                    ts(next_at) if next_at else None,
                    row_id,
                ),
            )

    async def notification_dropped(self, row_id: int, reason: str, now: datetime) -> None:
        async with self.transaction() as conn:
            await conn.execute(
                "UPDATE case_notifications SET state = 'dropped', last_error = ?, tried_at = ? "
                "WHERE id = ?",
                (reason, ts(now), row_id),
            )

    async def queue_morning_list(self, department: str, key: str, now: datetime) -> bool:
        """The morning list of `department` asked for once per `key` (its local day):
        False when it was already."""
        async with self.transaction() as conn:
            cursor = await conn.execute(
                "INSERT OR IGNORE INTO alerts (kind, department, dedup_key, fired_at, body) "
                "VALUES ('case_list', ?, ?, ?, '')",
                (department, key, ts(now)),
            )
            if cursor.rowcount != 1:
                return False
            await conn.execute(
                "INSERT INTO case_notifications (case_id, department, kind, created_at, "
                "not_before) VALUES (NULL, ?, 'morning_list', ?, ?)",
                (department, ts(now), ts(now)),
            )
            return True

    async def queue_staff_text(
        self,
        row_id: int,
        phone: str,
        department: str,
        language: str,
        body: str,
        now: datetime,
        max_age: timedelta,
    ) -> None:
        """A text to a staff number through the outbox (template `staff_notice`: like the
        managers' alerts, quiet hours apply and the callers' caps do not count it)."""
        async with self.transaction() as conn:
            await conn.execute(
                "INSERT OR IGNORE INTO messages (call_id, to_e164, department, template, "
                "language, dedup_key, state, not_before, expires_at, body, created_at, "
                "updated_at) VALUES (NULL, ?, ?, 'staff_notice', ?, ?, 'pending', ?, ?, ?, ?, ?)",
                (
                    phone,
                    department,
                    language,
                    f"staff:{row_id}",
                    ts(now),
                    ts(now + max_age),
                    body,
                    ts(now),
                    ts(now),
                ),
            )

    async def open_cases_for_list(self, department: str) -> list[dict[str, Any]]:
        """The department's open cases, oldest first, with the caller's name."""
        names = ("id", "caller_e164", "caller_raw", "opened_at", "sla_due_at", "calls", "name")
        rows = await self.fetchall(
            "SELECT k.id, k.caller_e164, k.caller_raw, k.opened_at, k.sla_due_at, k.calls, "
            "(SELECT c.caller_name FROM case_calls j JOIN calls c ON c.id = j.call_id "
            " WHERE j.case_id = k.id AND c.caller_name IS NOT NULL ORDER BY c.ended_at DESC "
            " LIMIT 1) FROM cases k WHERE k.state = 'open' AND k.department = ? "
            "ORDER BY k.opened_at",
            (department,),
        )
        return [dict(zip(names, row, strict=True)) for row in rows]

    async def last_miss_of(self, case_id: int) -> dict[str, Any]:
        """The caller's name and the outcome of the case's latest missed call."""
        row = await self.fetchone(
            "SELECT c.caller_name, c.outcome, c.ivr_path FROM case_calls j "
            "JOIN calls c ON c.id = j.call_id WHERE j.case_id = ? ORDER BY c.ended_at DESC "
            "LIMIT 1",
            (case_id,),
        )
        if not row:
            return {"name": None, "outcome": None, "ivr_path": ""}
        return {"name": row[0], "outcome": row[1], "ivr_path": row[2]}

    async def reply_of(self, reply_id: int) -> dict[str, Any] | None:
        row = await self.fetchone(
            "SELECT from_e164, body, received_at FROM replies WHERE id = ?", (reply_id,)
        )
        return {"from_e164": row[0], "body": row[1], "received_at": row[2]} if row else None

    async def notification_status(self) -> dict[str, Any]:
        """Counts for `/v1/status`: queued (pending), retrying (pending after a failed
        try), failed (given up), and the latest error with its channel. No secrets:
        the reasons are the senders' own, which name none."""
        queued, retrying, failed = await self.fetchone(
            "SELECT COALESCE(SUM(state = 'pending'), 0), "
            "COALESCE(SUM(state = 'pending' AND attempts > 0), 0), "
            "COALESCE(SUM(state = 'failed'), 0) FROM case_notifications"
        )
        last = await self.fetchone(
            "SELECT department, target, kind, last_error, tried_at FROM case_notifications "
            "WHERE state IN ('pending', 'failed') AND last_error IS NOT NULL "
            "ORDER BY tried_at DESC, id DESC LIMIT 1"
        )
        return {
            "queued": int(queued),
            "retrying": int(retrying),
            "failed": int(failed),
            "last_error": (
                {
                    "department": last[0],
                    "channel": last[1],
                    "kind": last[2],
                    "message": last[3],
                    "at": last[4],
                }
                if last
                else None
            ),
        }
