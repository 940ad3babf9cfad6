"""The carrier's word on texts we sent: one state per sent message, forward only.

A `DeliveryReport` is matched to its outbox row by (sender, provider id). It moves
`messages.delivery` only when it ranks higher (`DELIVERY_RANK`: queued < sent <
delivered / undelivered / failed), whatever order reports arrive in; every report is
kept in `deliveries` with `applied` 0 or 1, except an exact replay (same SID, state and
code already recorded), which changes nothing and is only counted by the caller. A
report for a SID we never sent is kept with no message, never guessed onto one --
until the dispatcher records that SID on a text it just sent (a fast carrier, or a
sender that reports at once, can answer before `finish` stored the provider id):
`adopt_deliveries` then applies the waiting reports to that text, by the same
forward-only rule. The number fact a report carries is kept with it (`fact`, schema
12), so a waiting report's fact is applied when it is adopted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from agent.model import DELIVERY_RANK, Delivery, DeliveryReport, NumberFact
from agent.store.base import StoreBase, parse_ts, ts


class Applied(StrEnum):
    """What one report did: moved the state, came too late, was seen before, or is
    about a message we do not know."""

    MOVED = "moved"
    STALE = "stale"
    REPLAY = "replay"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    applied: Applied
    message_id: int | None = None
    to_e164: str | None = None


class DeliveryStore(StoreBase):
    async def apply_delivery(self, report: DeliveryReport, now: datetime) -> DeliveryResult:
        """Record one report; see the module docstring."""
        async with self.transaction() as conn:
            seen = await conn.execute_fetchall(
                "SELECT 1 FROM deliveries WHERE sender = ? AND provider_id = ? AND state = ? "
                "AND COALESCE(error_code, '') = ? LIMIT 1",
                (report.sender, report.provider_id, report.state.value, report.error_code or ""),
            )
            if list(seen):
                return DeliveryResult(Applied.REPLAY)
            rows = list(
                await conn.execute_fetchall(
                    "SELECT id, to_e164, delivery FROM messages WHERE sender = ? "
                    "AND provider_id = ? ORDER BY id LIMIT 1",
                    (report.sender, report.provider_id),
                )
            )
            if not rows:
                await self._keep(report, None, False, now)
                return DeliveryResult(Applied.UNKNOWN)
            message_id, to_e164, current = rows[0]
            moves = _rank(current) < DELIVERY_RANK[report.state]
            await self._keep(report, int(message_id), moves, now)
            if moves:
                await conn.execute(
                    "UPDATE messages SET delivery = ?, delivery_code = ?, delivery_at = ?, "
                    "updated_at = ? WHERE id = ?",
                    (report.state.value, report.error_code, ts(report.at), ts(now), message_id),
                )
            verdict = Applied.MOVED if moves else Applied.STALE
            return DeliveryResult(verdict, int(message_id), str(to_e164))

    async def _keep(
        self, report: DeliveryReport, message_id: int | None, applied: bool, now: datetime
    ) -> None:
        await self.conn.execute(
            "INSERT INTO deliveries (message_id, sender, provider_id, state, error_code, at, "
            "received_at, applied, detail, fact) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                message_id,
                report.sender,
                report.provider_id,
                report.state.value,
                report.error_code,
                ts(report.at),
                ts(now),
                int(applied),
                report.detail[:400],
                report.fact.value if report.fact else None,
            ),
        )

    async def adopt_deliveries(
        self, message_id: int, sender: str, provider_id: str, now: datetime
    ) -> list[tuple[DeliveryReport, DeliveryResult]]:
        """Apply the reports kept for (sender, provider id) before the text was known
        to have that id, oldest first, to message `message_id`; part of the caller's
        transaction (the dispatcher's `finish`). Returns each report with what it did
        (MOVED or STALE)."""
        done: list[tuple[DeliveryReport, DeliveryResult]] = []
        async with self.transaction() as conn:
            waiting = list(
                await conn.execute_fetchall(
                    "SELECT id, state, error_code, at, detail, fact FROM deliveries "
                    "WHERE sender = ? AND provider_id = ? AND message_id IS NULL ORDER BY id",
                    (sender, provider_id),
                )
            )
            if not waiting:
                return done
            rows = list(
                await conn.execute_fetchall(
                    "SELECT to_e164, delivery FROM messages WHERE id = ?", (message_id,)
                )
            )
            if not rows:
                return done
            to_e164, current = str(rows[0][0]), rows[0][1]
            for row_id, state, code, at, detail, fact in waiting:
                report = _report(sender, provider_id, str(state), code, str(at), str(detail), fact)
                if report is None:
                    continue
                moves = _rank(current) < DELIVERY_RANK[report.state]
                await conn.execute(
                    "UPDATE deliveries SET message_id = ?, applied = ? WHERE id = ?",
                    (message_id, int(moves), row_id),
                )
                if moves:
                    current = report.state.value
                    await conn.execute(
                        "UPDATE messages SET delivery = ?, delivery_code = ?, delivery_at = ?, "
                        "updated_at = ? WHERE id = ?",
                        (current, report.error_code, ts(report.at), ts(now), message_id),
                    )
                verdict = Applied.MOVED if moves else Applied.STALE
                done.append((report, DeliveryResult(verdict, message_id, to_e164)))
        return done

    async def sent_texts(
        self, sender: str, number_tail: str, since: datetime, limit: int = 50
    ) -> list[tuple[int, str, str]]:
        """(message id, number, provider id) of the texts `sender` sent since a time
        to numbers ending in `number_tail` (digits only), newest first:
        `SenderContext.sent_texts`, how the modem finds the text a late status report
        is about after a restart (its TP-MRs are in the provider id)."""
        tail = "".join(c for c in number_tail if c.isdigit())
        if not tail:
            return []
        rows = await self.fetchall(
            "SELECT id, to_e164, provider_id FROM messages WHERE sender = ? "
            "AND provider_id IS NOT NULL AND sent_at >= ? AND to_e164 LIKE ? "
            "ORDER BY sent_at DESC, id DESC LIMIT ?",
            (sender, ts(since), "%" + tail, limit),
        )
        return [(int(r[0]), str(r[1]), str(r[2])) for r in rows]

    async def delivery_history(self, message_id: int) -> list[tuple[str, str | None, str, bool]]:
        """(state, error code, at, applied) of every report about one message, in the
        order they came."""
        rows = await self.fetchall(
            "SELECT state, error_code, at, applied FROM deliveries WHERE message_id = ? "
            "ORDER BY id",
            (message_id,),
        )
        return [(str(r[0]), r[1], str(r[2]), bool(r[3])) for r in rows]


def _report(
    sender: str,
    provider_id: str,
    state: str,
    code: str | None,
    at: str,
    detail: str,
    fact_name: str | None,
) -> DeliveryReport | None:
    """A kept report read back (None: a state this version does not know; a fact it
    does not know is left out)."""
    try:
        delivery = Delivery(state)
    except ValueError:
        return None
    try:
        fact = NumberFact(fact_name) if fact_name else None
    except ValueError:
        fact = None
    return DeliveryReport(sender, provider_id, delivery, parse_ts(at), code, fact, detail)


def _rank(stored: str | None) -> int:
    if stored is None:
        return -1
    try:
        return DELIVERY_RANK[Delivery(stored)]
    except ValueError:
        return -1
