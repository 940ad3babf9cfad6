"""A case's conversation with its caller: one thread, in order, of the texts we sent
(the missed-call text, the staff's answers) and the caller's replies, the sender
that reached the caller first (which every answer in the thread goes through), and
a staff answer queued in the outbox with its line on the case's timeline.

An entry is a dict: `at` (UTC text: when it left, or was queued when it has not yet),
`side` (`ours` / `theirs`), `by` (who wrote ours: `ringback` for the missed-call
text, the staff's name for an answer; `caller` for theirs), `body`, `message_id` /
`reply_id`, `state` (the outbox state of ours), `sender` (the sender it went through,
or the one it is pinned to) and `delivery` (what the carrier said of ours, when a
sender reports it; None until then).
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from agent.store.base import ts
from agent.store.cases import CaseStore

# What the carrier said of a text we sent (`messages.delivery`, forward only: queued,
# sent, delivered, undelivered, failed); NULL until a report came.
_DELIVERY = "m.delivery"

_OURS = (
    "SELECT COALESCE(m.sent_at, m.created_at) AS at, 'ours' AS side, {by} AS author, "
    "m.body AS body, m.id AS message_id, NULL AS reply_id, m.state AS state, "
    f"COALESCE(m.sender, m.via) AS sender, {_DELIVERY} AS delivery FROM {{source}}"
)
_THREAD = " UNION ALL ".join(
    (
        _OURS.format(
            by="'ringback'",
            source="case_calls k JOIN messages m ON m.call_id = k.call_id WHERE k.case_id = ?",
        ),
        _OURS.format(
            by="a.actor",
            source="case_actions a JOIN messages m ON m.id = a.ref_id "
            "WHERE a.case_id = ? AND a.action = 'texted'",
        ),
        "SELECT r.received_at, 'theirs', 'caller', r.body, NULL, r.id, NULL, r.sender, NULL "
        "FROM case_actions a JOIN replies r ON r.id = a.ref_id "
        "WHERE a.case_id = ? AND a.action = 'replied'",
    )
)
_NAMES = ("at", "side", "by", "body", "message_id", "reply_id", "state", "sender", "delivery")


class ThreadStore(CaseStore):
    async def case_thread(self, case_id: int) -> list[dict[str, Any]]:
        """The case's conversation, oldest first (see the module docstring)."""
        rows = await self.fetchall(
            f"SELECT * FROM ({_THREAD}) ORDER BY 1, 5, 6", (case_id, case_id, case_id)
        )
        return [dict(zip(_NAMES, row, strict=True)) for row in rows]

    async def thread_sender(self, case_id: int) -> str | None:
        """The sender that reached the case's caller first: the one our first text
        that left went through, or the one the caller's first reply came in by,
        whichever was earlier; None when neither happened yet."""
        first = await self.fetchone(
            f"SELECT sender FROM ({_THREAD}) WHERE sender IS NOT NULL "
            "AND (side = 'theirs' OR state = 'sent' OR delivery IS NOT NULL) "
            "ORDER BY at LIMIT 1",
            (case_id, case_id, case_id),
        )
        return str(first[0]) if first else None

    async def queue_staff_reply(
        self,
        case_id: int,
        to_e164: str,
        department: str,
        language: str,
        body: str,
        actor: str,
        now: datetime,
        expires_at: datetime,
        not_before: datetime | None = None,
        via: str | None = None,
    ) -> int:
        """A text written by staff to the case's caller, queued in the outbox with its
        body (template `staff_reply`; the dispatcher still applies opt-out and quiet
        hours), due at `not_before` (now by default), pinned to the sender `via` (the
        thread's; None: the chain) and on the case's timeline, in one transaction.
        Only an open case takes one (`conflict` otherwise)."""
        async with self.transaction() as conn:
            await self._state_of(case_id, "open")
            cursor = await conn.execute(
                "INSERT INTO messages (call_id, to_e164, department, template, language, "
                "dedup_key, state, not_before, expires_at, body, via, created_at, updated_at) "
                "VALUES (NULL, ?, ?, 'staff_reply', ?, ?, 'pending', ?, ?, ?, ?, ?, ?)",
                (
                    to_e164,
                    department,
                    language,
                    f"staff_reply:{case_id}:{now.timestamp():.6f}:{secrets.token_hex(4)}",
                    ts(not_before or now),
                    ts(expires_at),
                    body,
                    via,
                    ts(now),
                    ts(now),
                ),
            )
            message_id = int(cursor.lastrowid or 0)
            await conn.execute(
                "UPDATE cases SET touched_at = ?, updated_at = ?, owner = COALESCE(owner, ?) "
                "WHERE id = ?",
                (ts(now), ts(now), actor, case_id),
            )
            await self._act(case_id, now, actor, "texted", body, message_id)
            return message_id
