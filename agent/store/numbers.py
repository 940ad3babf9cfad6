"""What the store knows about a number: opt-outs, texts sent to it, its replies."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from agent.store.base import StoreBase, ts


class NumberStore(StoreBase):
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
                "INSERT INTO replies (from_e164, body, received_at, sender, kind) "
                "VALUES (?, ?, ?, ?, ?)",
                (from_e164, body, ts(received_at), sender, kind),
            )
            return int(cursor.lastrowid or 0)


_OPTED_OUT = "SELECT 1 FROM opt_outs WHERE number_e164 IN (?, ?)"
_TEXTS_TO = (
    "SELECT COUNT(*) FROM messages WHERE to_e164 = ? AND created_at >= ? "
    "AND state NOT IN ('suppressed','failed') AND template NOT IN ('help','stop_confirm')"
)
# The SMS-pumping guard counts texts to callers; staffing alerts, digests and case
# notifications (`staff_notice`) go to the dealership's own people and never use up the
# callers' hourly budget.
_TEXTS_SINCE = (
    "SELECT COUNT(*) FROM messages WHERE created_at >= ? AND state NOT IN ('suppressed','failed') "
    "AND template NOT IN ('alert','digest','staff_notice')"
)
