"""What the store knows about a number: opt-outs, what providers said about it
(`number_facts`: sms_incapable, unreachable until a time, filtered, misconfigured),
texts sent to it, its replies."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from agent.model import NumberFact
from agent.store.base import StoreBase, parse_ts, ts
from agent.store.schema import NEXT_CHANGE

# The faults of our own sending (filtered, misconfigured), one row per fact, sender and
# code since a time: (fact, sender, code, the newest fix, how many numbers, newest at).
SENDING_FAULTS = (
    "SELECT fact, origin, COALESCE(code, ''), detail, COUNT(*), MAX(at) FROM number_facts "
    "WHERE fact IN ('misconfigured', 'filtered') AND at >= ? "
    "GROUP BY fact, origin, code ORDER BY fact, origin, code"
)


class NumberStore(StoreBase):
    async def is_opted_out(self, number_e164: str) -> bool:
        """True for a number that said STOP, in clear or erased (kept as its token)."""
        token = await self.erased_token(number_e164)
        return bool(await self.fetchone(_OPTED_OUT, (number_e164, token)))

    async def number_facts(
        self, number_e164: str, dedup_since: datetime, day_since: datetime, hour_since: datetime
    ) -> tuple[bool, int, int, int, bool, datetime | None]:
        """What the policy reads about a number, in one query (one trip to SQLite's
        thread instead of six, and one snapshot): `is_opted_out`, `messages_to_since`
        `dedup_since` and `day_since`, `messages_since` `hour_since`, whether it is
        sms_incapable and until when it is unreachable (None: not known to be; an
        `until` already past is returned as it is, the policy compares)."""
        token = await self.erased_token(number_e164)
        row = await self.fetchone(
            f"SELECT EXISTS ({_OPTED_OUT}), ({_TEXTS_TO}), ({_TEXTS_TO}), ({_TEXTS_SINCE}), "
            f"EXISTS ({_FACT}), ({_UNTIL})",
            (
                number_e164,
                token,
                number_e164,
                ts(dedup_since),
                number_e164,
                ts(day_since),
                ts(hour_since),
                number_e164,
                NumberFact.SMS_INCAPABLE.value,
                number_e164,
            ),
        )
        until = parse_ts(row[5]) if row[5] else None
        return bool(row[0]), int(row[1]), int(row[2]), int(row[3]), bool(row[4]), until

    async def texting_facts(self, number_e164: str) -> tuple[bool, datetime | None]:
        """(sms_incapable, unreachable until) of a number, as the dispatcher re-checks
        them just before a text leaves."""
        row = await self.fetchone(
            f"SELECT EXISTS ({_FACT}), ({_UNTIL})",
            (number_e164, NumberFact.SMS_INCAPABLE.value, number_e164),
        )
        return bool(row[0]), parse_ts(row[1]) if row[1] else None

    async def set_number_fact(
        self,
        number_e164: str,
        fact: NumberFact,
        *,
        origin: str,
        now: datetime,
        code: str | None = None,
        until: datetime | None = None,
        detail: str = "",
    ) -> bool:
        """Record what a provider said about a number; True when it is news (the
        fact was not known, or an `until` moved). sms_incapable also withdraws the
        texts still waiting for it and makes its open cases callback-only; opted_out
        is an opt-out (`set_opt_out`)."""
        if fact is NumberFact.OPTED_OUT:
            news = not await self.is_opted_out(number_e164)
            await self.set_opt_out(number_e164, "provider", origin, now)
            return news
        async with self.transaction() as conn:
            known = list(
                await conn.execute_fetchall(
                    "SELECT until FROM number_facts WHERE number_e164 = ? AND fact = ?",
                    (number_e164, fact.value),
                )
            )
            await conn.execute(
                "INSERT OR REPLACE INTO number_facts (number_e164, fact, at, until, code, "
                "origin, detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    number_e164,
                    fact.value,
                    ts(now),
                    ts(until) if until else None,
                    code,
                    origin,
                    detail[:400],
                ),
            )
            if fact is NumberFact.SMS_INCAPABLE:
                await conn.execute(
                    "UPDATE messages SET state = 'suppressed', last_error = 'sms_incapable', "
                    "updated_at = ? WHERE to_e164 = ? AND state IN ('pending','retry_wait')",
                    (ts(now), number_e164),
                )
                await conn.execute(
                    "UPDATE cases SET callback_only = 1, updated_at = ? WHERE caller_e164 = ? "
                    "AND state = 'open' AND callback_only = 0",
                    (ts(now), number_e164),
                )
            return not known or (until is not None and known[0][0] != ts(until))

    async def clear_number_fact(self, number_e164: str, fact: NumberFact) -> bool:
        """Forget a fact (a text delivered to a number thought unreachable)."""
        cursor = await self.write_one(
            "DELETE FROM number_facts WHERE number_e164 = ? AND fact = ?",
            (number_e164, fact.value),
        )
        return cursor.rowcount > 0

    async def sending_faults(self, since: datetime) -> list[tuple[str, str, str, str, int]]:
        """(fact, sender, code, fix, numbers) of the `filtered` and `misconfigured`
        facts recorded since a time, one row per sender and code (the newest fix): a
        fault of our own sending, for `/v1/status`, the managers' alert and `doctor`
        (never a number)."""
        rows = await self.fetchall(SENDING_FAULTS, (ts(since),))
        return [(str(r[0]), str(r[1]), str(r[2]), str(r[3]), int(r[4])) for r in rows]

    async def erased_token(self, number_e164: str) -> str:
        """What an erased opt-out keeps of a number: a keyed hash (the site's salt), so
        the person is never texted again though the number is no longer stored."""
        if self._keyed is None:
            salt = str(await self.scalar("SELECT value FROM meta WHERE key = 'optout_salt'"))
            self._keyed = hmac.new(salt.encode(), digestmod=hashlib.sha256)
        digest = self._keyed.copy()  # keyed once: copying is a tenth of hmac.new
        digest.update(number_e164.encode())
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
                "INSERT INTO replies (from_e164, body, received_at, sender, kind, change_seq) "
                f"VALUES (?, ?, ?, ?, ?, {NEXT_CHANGE})",
                (from_e164, body, ts(received_at), sender, kind),
            )
            return int(cursor.lastrowid or 0)


_OPTED_OUT = "SELECT 1 FROM opt_outs WHERE number_e164 IN (?, ?)"
_FACT = "SELECT 1 FROM number_facts WHERE number_e164 = ? AND fact = ?"
_UNTIL = "SELECT until FROM number_facts WHERE number_e164 = ? AND fact = 'unreachable'"
_TEXTS_TO = (
    "SELECT COUNT(*) FROM messages WHERE to_e164 = ? AND created_at >= ? "
    "AND state NOT IN ('suppressed','failed') AND template NOT IN ('help','stop_confirm')"
)
# The SMS-pumping guard counts texts to callers; staffing alerts, digests and case
# notifications (`staff_notice`) go to the dealership's own people and never use up the
# callers' hourly budget. Its WHERE is the partial index `messages_counted`'s (schema
# 13): SQLite counts that index's entries and reads no row (change both together).
_TEXTS_SINCE = (
    "SELECT COUNT(*) FROM messages WHERE created_at >= ? AND state NOT IN ('suppressed','failed') "
    "AND template NOT IN ('alert','digest','staff_notice')"
)
