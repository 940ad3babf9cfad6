"""`ringback doctor`: what providers said is wrong with our own sending, from the
store's number facts of the last `DAYS` days. `misconfigured` (Twilio 21408 region
not enabled, 21612 route impossible from this `from`) is a configuration error,
`filtered` (30007 carrier filtering, 30034 unregistered A2P 10DLC) a warning; each
named with its sender, code and the fix the sender gave."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from agent.ops.doctor_system import Finding
from agent.store.numbers import SENDING_FAULTS

DAYS = 7
_LEVEL = {"misconfigured": "fail", "filtered": "warn"}
_TITLE = {"misconfigured": "sending configuration", "filtered": "carrier filtering"}


def sending_faults(path: Path) -> list[Finding]:
    if not path.exists():
        return []
    since = (datetime.now(UTC) - timedelta(days=DAYS)).isoformat(timespec="microseconds")
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as conn:
            rows = conn.execute(SENDING_FAULTS, (since,)).fetchall()
        conn.close()
    except sqlite3.DatabaseError:
        return []  # no number_facts table yet (an old schema): the store check says so
    found = []
    for fact, origin, code, detail, count, _ in rows:
        found.append(
            Finding(
                _TITLE[fact],
                "fail" if _LEVEL[fact] == "fail" else "warn",
                f"sender {origin}: code {code or '?'} for {count} number(s) in the last "
                f"{DAYS} days",
                detail,
            )
        )
    if not found:
        return [Finding("sending configuration", "ok", "no provider reported a setup fault")]
    return found
