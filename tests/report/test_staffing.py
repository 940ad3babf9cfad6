"""Staffing advice from the stored calls: arrivals, handle time, patience and people
answering measured per department-hour over the last weeks, closed hours left out."""

from __future__ import annotations

import sqlite3
from datetime import time, timedelta

import pytest

from agent.config.report import StaffingTargets
from agent.report.erlang import Queue, abandon_share
from agent.report.staffing import is_open, staffing_advice
from tests.report.conftest import MONDAY, TZ, local, stamp

SERVICE_HOURS = {0: [(time(7, 30), time(18, 0))], **{d: [] for d in range(1, 7)}}
TARGETS = StaffingTargets(target_share=0.8, target_seconds=20, weeks=8)


def insert(
    db: sqlite3.Connection,
    serial: list[int],
    when: str,
    outcome: str,
    *,
    talk: float = 0.0,
    ring: float = 10.0,
    by: str | None = None,
) -> None:
    serial[0] += 1
    start = local(when)
    db.execute(
        "INSERT INTO calls (source, pbx_call_id, started_at, ended_at, received_at, direction, "
        "outcome, ring_seconds, talk_seconds, answered_by, department) VALUES "
        "('t', ?, ?, ?, ?, 'inbound', ?, ?, ?, ?, 'service')",
        (f"c{serial[0]}", stamp(start), stamp(start), stamp(start), outcome, ring, talk, by),
    )


def test_advice_measures_each_open_hour(db: sqlite3.Connection) -> None:
    """Eight Mondays: at 10h four answered calls of 6 min by two extensions; at 11h two
    answered and six callers who hung up after 30 s; at 20h (closed) calls that must
    not count."""
    serial = [0]
    for week in range(8):
        day = (MONDAY - timedelta(weeks=week)).isoformat()
        for i, ext in enumerate(("201", "202", "201", "202")):
            insert(db, serial, f"{day} 10:{10 * i:02d}", "answered", talk=360, by=ext)
        for i in range(2):
            insert(db, serial, f"{day} 11:{5 * i:02d}", "answered", talk=240, ring=15, by="203")
        for i in range(6):
            insert(db, serial, f"{day} 11:{20 + i:02d}", "missed", ring=30)
        insert(db, serial, f"{day} 20:00", "missed", ring=30)
        insert(db, serial, f"{day} 10:30", "short_abandon", ring=1)
    advice = staffing_advice(db, TZ, MONDAY, {"service": SERVICE_HOURS}, TARGETS)
    by_hour = {a.hour: a for a in advice}
    assert sorted(by_hour) == [10, 11]  # 20h is closed; short abandons are not calls

    ten = by_hour[10]
    assert (ten.weekday, ten.calls_per_week, ten.handle_seconds) == (0, 4.0, 360.0)
    assert ten.answering == 2.0 and ten.patience_seconds is None and ten.model == "erlang_c"
    # A = 0.4 Erlang: one person answers 61 % within 20 s, two 94 %.
    assert ten.needed == 2 and not ten.short
    assert ten.saved_per_week is None

    eleven = by_hour[11]
    assert (eleven.calls_per_week, eleven.handle_seconds) == (8.0, 240.0)
    # 48 hang-ups; 16 x 15 s + 48 x 30 s waited: patience = 1680 / 48 = 35 s.
    assert eleven.patience_seconds == 35.0 and eleven.model == "erlang_a"
    assert eleven.answering == 1.0
    queue = Queue(8.0, 240.0, 35.0)
    assert eleven.saved_per_week == pytest.approx(
        8.0 * (abandon_share(queue, 1) - abandon_share(queue, 2)), abs=0.01
    )
    assert eleven.needed > 1 and eleven.short


def test_open_hours() -> None:
    assert is_open(SERVICE_HOURS, 0, 7) and is_open(SERVICE_HOURS, 0, 17)
    assert not is_open(SERVICE_HOURS, 0, 18) and not is_open(SERVICE_HOURS, 1, 10)
    assert is_open(None, 6, 3)
