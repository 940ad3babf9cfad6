"""A sender's small persisted state: named text values per sender (a poll's
high-water mark), so a restart resumes where the last run stopped."""

from __future__ import annotations

from datetime import datetime

from agent.store.base import StoreBase, ts


class MarkStore(StoreBase):
    async def load_mark(self, sender: str, key: str) -> str | None:
        value = await self.scalar(
            "SELECT value FROM sender_marks WHERE sender = ? AND key = ?", (sender, key)
        )
        return None if value is None else str(value)

    async def save_mark(self, sender: str, key: str, value: str, now: datetime) -> None:
        await self.write_one(
            "INSERT INTO sender_marks (sender, key, value, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (sender, key) DO UPDATE SET value = excluded.value, "
            "updated_at = excluded.updated_at",
            (sender, key, value, ts(now)),
        )

    async def first_inbound(self, sender: str, provider_id: str, now: datetime) -> bool:
        """Note a received text's provider id; False when it was seen before (a
        redelivery: the same reply must not be recorded twice). Inside the caller's
        transaction when there is one, so the note and the reply commit together."""
        cursor = await self.write_one(
            "INSERT OR IGNORE INTO inbound_seen (sender, provider_id, at) VALUES (?, ?, ?)",
            (sender, provider_id, ts(now)),
        )
        return cursor.rowcount > 0
