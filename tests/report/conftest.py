"""Fixtures of the report tests: stores filled by the history generator or by hand.

The site is in America/Toronto. Generated histories are module-scoped (built once).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from agent.report.history import ensure_schema

TZ = ZoneInfo("America/Toronto")


def local(text: str, tz: ZoneInfo = TZ) -> datetime:
    """Site wall time `YYYY-MM-DD HH:MM` as aware UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=tz).astimezone(UTC)


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


class Calls:
    """Inserts hand-made calls, texts and replies into a fresh store."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.serial = 0

    def call(
        self,
        started: datetime,
        outcome: str,
        department: str = "service",
        *,
        after_hours: bool = False,
        ivr_path: str = "",
        recovered_minutes: float | None = None,
        number: str = "+15145550123",
        ring_seconds: float = 20.0,
    ) -> int:
        self.serial += 1
        ended = started.timestamp() + ring_seconds
        end = datetime.fromtimestamp(ended, UTC)
        recovered = (
            None
            if recovered_minutes is None
            else stamp(datetime.fromtimestamp(ended + recovered_minutes * 60, UTC))
        )
        cursor = self.conn.execute(
            "INSERT INTO calls (source, pbx_call_id, started_at, ended_at, received_at, "
            "direction, outcome, caller_e164, remote_e164, ivr_path, ring_seconds, department, "
            "after_hours, decision, recovered_at, recovered_by) VALUES "
            "('t', ?, ?, ?, ?, 'inbound', ?, ?, ?, ?, ?, ?, ?, 'notify', ?, ?)",
            (
                f"c{self.serial}",
                stamp(started),
                stamp(end),
                stamp(end),
                outcome,
                number,
                number,
                ivr_path,
                ring_seconds,
                department,
                int(after_hours),
                recovered,
                "callback" if recovered else None,
            ),
        )
        return int(cursor.lastrowid or 0)

    def text(self, call_id: int, to: str, department: str, at: datetime, **kw: Any) -> None:
        state = kw.get("state", "sent")
        self.conn.execute(
            "INSERT INTO messages (call_id, to_e164, department, template, language, dedup_key, "
            "state, not_before, expires_at, created_at, updated_at, sent_at) VALUES "
            "(?, ?, ?, ?, 'fr', ?, ?, ?, ?, ?, ?, ?)",
            (
                call_id,
                to,
                department,
                kw.get("template", "open"),
                f"k{call_id}:{to}:{kw.get('template', 'open')}",
                state,
                stamp(at),
                stamp(at),
                stamp(at),
                stamp(at),
                stamp(at) if state == "sent" else None,
            ),
        )

    def reply(self, number: str, at: datetime) -> None:
        self.conn.execute(
            "INSERT INTO replies (from_e164, body, received_at, sender, kind) "
            "VALUES (?, 'ok', ?, 't', 'reply')",
            (number, stamp(at)),
        )


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(tmp_path / "ringback.db", isolation_level=None)
    ensure_schema(conn)
    yield conn
    conn.close()


@pytest.fixture
def calls(db: sqlite3.Connection) -> Calls:
    return Calls(db)


# 2026-11-23 is a Monday.
MONDAY = date(2026, 11, 23)
