"""Reading recovery cases: one case with everything it gathered, lists of cases, and
the columns the `/v1/cases` feed serves. Rows come back as dicts keyed by column, with
timestamps as stored (UTC ISO 8601 text) and numbers in full: masking is the
reader's job (the status API, the CLI)."""

from __future__ import annotations

from typing import Any

from agent.store.base import StoreBase

CASE_COLUMNS = (
    "id",
    "caller_e164",
    "caller_raw",
    "department",
    "state",
    "resolution",
    "callback_possible",
    "callback_only",
    "calls",
    "call_ids",
    "opened_at",
    "last_miss_at",
    "sla_due_at",
    "first_attempt_at",
    "attempts",
    "replied_at",
    "reached_at",
    "reached_by",
    "proof_call_id",
    "escalated_at",
    "owner",
    "note",
    "closed_at",
    "closed_by",
    "updated_at",
)
_SELECT = f"SELECT {', '.join(CASE_COLUMNS)} FROM cases"


def _dicts(names: tuple[str, ...], rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    return [dict(zip(names, row, strict=True)) for row in rows]


class CaseViews(StoreBase):
    async def case(self, case_id: int) -> dict[str, Any] | None:
        rows = await self.fetchall(f"{_SELECT} WHERE id = ?", (case_id,))
        found = _dicts(CASE_COLUMNS, rows)
        return found[0] if found else None

    async def cases(
        self, state: str | None = None, department: str | None = None, limit: int = 50
    ) -> list[dict[str, Any]]:
        """Cases newest first, optionally only one state (`open`/`closed`) or one
        department."""
        where, params = [], []
        if state is not None:
            where.append("state = ?")
            params.append(state)
        if department is not None:
            where.append("department = ?")
            params.append(department)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        rows = await self.fetchall(f"{_SELECT}{clause} ORDER BY id DESC LIMIT ?", (*params, limit))
        return _dicts(CASE_COLUMNS, rows)

    async def case_history(self, case_id: int) -> dict[str, list[dict[str, Any]]]:
        """What a case gathered: its missed calls (outcome, IVR path, decision), the
        texts sent about them, the caller's replies, the attempts and the timeline."""
        calls = ("id", "pbx_call_id", "ended_at", "outcome", "ivr_path", "decision")
        texts = ("id", "call_id", "template", "state", "sent_at")
        replies = ("id", "received_at", "body")
        attempts = ("call_id", "at", "direction", "extension", "talk_seconds", "result")
        actions = ("at", "actor", "action", "detail", "ref_id")
        return {
            "calls": _dicts(
                calls,
                await self.fetchall(
                    "SELECT c.id, c.pbx_call_id, c.ended_at, c.outcome, c.ivr_path, c.decision "
                    "FROM case_calls k JOIN calls c ON c.id = k.call_id WHERE k.case_id = ? "
                    "ORDER BY c.ended_at",
                    (case_id,),
                ),
            ),
            "texts": _dicts(
                texts,
                await self.fetchall(
                    "SELECT m.id, m.call_id, m.template, m.state, m.sent_at FROM messages m "
                    "JOIN case_calls k ON k.call_id = m.call_id WHERE k.case_id = ? "
                    "ORDER BY m.id",
                    (case_id,),
                ),
            ),
            "replies": _dicts(
                replies,
                await self.fetchall(
                    "SELECT r.id, r.received_at, r.body FROM case_actions a "
                    "JOIN replies r ON r.id = a.ref_id WHERE a.case_id = ? "
                    "AND a.action = 'replied' ORDER BY r.id",
                    (case_id,),
                ),
            ),
            "attempts": _dicts(
                attempts,
                await self.fetchall(
                    "SELECT call_id, at, direction, extension, talk_seconds, result "
                    "FROM case_attempts WHERE case_id = ? ORDER BY at",
                    (case_id,),
                ),
            ),
            "timeline": _dicts(
                actions,
                await self.fetchall(
                    "SELECT at, actor, action, detail, ref_id FROM case_actions "
                    "WHERE case_id = ? ORDER BY id",
                    (case_id,),
                ),
            ),
        }

    async def case_notifications(self, state: str = "pending") -> list[dict[str, Any]]:
        """The staff notifications the cases asked for, oldest first (the notifier's
        queue: `kind` is opened, reply or escalated)."""
        names = ("id", "case_id", "department", "kind", "reply_id", "created_at", "not_before")
        rows = await self.fetchall(
            f"SELECT {', '.join(names)} FROM case_notifications WHERE state = ? ORDER BY id",
            (state,),
        )
        return _dicts(names, rows)
