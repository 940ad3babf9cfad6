"""Retention and erasure over a real store holding old and new rows."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.model import CallRecord, Direction, Outcome
from agent.store import Store
from agent.store.retention import Anonymised, apply_retention, purge_number

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
OLD = NOW - timedelta(days=120)
NEW = NOW - timedelta(days=10)
ALICE = "+15145550111"
BOB = "+14385550122"
CAROL = "+15145550133"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with Store(tmp_path / "ringback.db") as opened:
        yield opened


async def add_call(
    store: Store, call_id: str, number: str, at: datetime, direction: Direction = Direction.INBOUND
) -> int:
    record = CallRecord(
        source="pbx",
        call_id=call_id,
        started_at=at - timedelta(seconds=30),
        ended_at=at,
        direction=direction,
        outcome=Outcome.MISSED if direction is Direction.INBOUND else Outcome.ANSWERED,
        caller_raw=number[2:] if direction is Direction.INBOUND else "201",
        caller_e164=number if direction is Direction.INBOUND else None,
        caller_name="TREMBLAY JEAN",
        dialed="5145550102" if direction is Direction.INBOUND else number[2:],
        ring_seconds=25.0,
    )
    call_id_row, _ = await store.insert_call(record, number, at)
    await store.set_decision(call_id_row, "service", False, "notify")
    return call_id_row


async def add_text(store: Store, call: int, number: str, at: datetime, state: str) -> int:
    message = await store.enqueue(
        call_id=call,
        to_e164=number,
        department="service",
        template="missed",
        language="fr",
        dedup_key=f"{number}:{at.timestamp()}",
        not_before=at,
        expires_at=at + timedelta(hours=4),
        now=at,
    )
    assert message is not None
    await store.conn.execute(
        "UPDATE messages SET state = ?, body = 'Bonjour, nous avons manqué votre appel', "
        "provider_id = 'SM1' WHERE id = ?",
        (state, message),
    )
    return message


def columns(store: Store, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(store.path) as conn:
        rows = conn.execute(sql).fetchall()
    conn.close()
    return rows


async def test_old_rows_are_anonymised_and_counts_kept(store: Store) -> None:
    """Past retention_days a call keeps outcome, department, times and durations but
    loses number, name and (outbound) dialled number; a sent text loses destination,
    body and provider id; a reply loses sender and words. Recent rows, open texts and
    opt-outs are untouched, row counts are unchanged, and a second run does nothing."""
    old_in = await add_call(store, "old-in", ALICE, OLD)
    await add_call(store, "old-out", BOB, OLD, Direction.OUTBOUND)
    new_in = await add_call(store, "new-in", BOB, NEW)
    await add_text(store, old_in, ALICE, OLD, "sent")
    await add_text(store, old_in, ALICE, OLD + timedelta(hours=1), "retry_wait")
    await add_text(store, new_in, BOB, NEW, "sent")
    await store.add_reply(ALICE, "oui rappelez-moi", OLD, "modem", "text")
    await store.add_reply(BOB, "merci", NEW, "modem", "text")
    await store.set_opt_out(CAROL, "STOP", "reply", OLD)

    done = await apply_retention(store, 90, NOW)

    assert (done.calls, done.messages, done.replies) == (2, 1, 1)
    calls = columns(
        store,
        "SELECT pbx_call_id, caller_raw, caller_e164, remote_e164, caller_name, dialed, "
        "outcome, department, decision, ring_seconds, ended_at IS NOT NULL FROM calls "
        "ORDER BY id",
    )
    assert calls[0] == ("old-in", "", None, None, None, "5145550102", "missed", "service",
                        "notify", 25.0, 1)  # fmt: skip
    assert calls[1][1:6] == ("", None, None, None, None)  # outbound: the dialled customer
    assert calls[2][1:5] == ("4385550122", BOB, BOB, "TREMBLAY JEAN")
    texts = columns(store, "SELECT to_e164, body, provider_id, state FROM messages ORDER BY id")
    assert texts[0] == ("", None, None, "sent")
    assert texts[1][0] == ALICE and texts[1][3] == "retry_wait"  # open: never touched
    assert texts[2][0] == BOB and texts[2][1] is not None
    assert columns(store, "SELECT from_e164, body FROM replies ORDER BY id") == [
        ("", ""),
        (BOB, "merci"),
    ]
    assert await store.is_opted_out(CAROL)  # kept: the legal basis is her own request
    assert columns(store, "SELECT COUNT(*) FROM calls")[0] == (3,)
    assert await apply_retention(store, 90, NOW) == Anonymised()


async def test_old_migration_backups_are_deleted(store: Store) -> None:
    """Backups made before a migration hold the same personal data: past the limit they
    are deleted, a recent one is kept."""
    old = store.path.with_name("ringback.db.schema1.bak")
    recent = store.path.with_name("ringback.db.schema1.1.bak")
    for path in (old, recent):
        path.write_bytes(b"copy")
    os.utime(old, (OLD.timestamp(), OLD.timestamp()))
    os.utime(recent, (NEW.timestamp(), NEW.timestamp()))
    done = await apply_retention(store, 90, NOW)
    assert done.backups == 1
    assert not old.exists() and recent.exists()


async def test_purge_erases_one_person_and_keeps_them_opted_out(store: Store) -> None:
    """Erasing a number anonymises that person's calls, texts and replies at any age,
    withdraws their queued text, leaves other people alone, and turns their opt-out into
    a keyed hash that the policy still matches (so they are never texted again)."""
    call = await add_call(store, "a", ALICE, NEW)
    await add_call(store, "b", BOB, NEW)
    await add_text(store, call, ALICE, NEW, "sent")
    await store.add_reply(ALICE, "STOP", NEW, "modem", "stop")
    await store.set_opt_out(ALICE, "STOP", "reply", NEW)
    queued = await add_text(store, call, ALICE, NEW + timedelta(hours=1), "pending")

    done = await purge_number(store, ALICE, NOW)

    assert (done.calls, done.messages, done.replies, done.withdrawn) == (1, 2, 1, 1)
    dump = "\n".join(
        str(row)
        for table in ("calls", "messages", "replies", "opt_outs")
        for row in columns(store, f"SELECT * FROM {table}")
    )
    assert ALICE not in dump and "5145550111" not in dump
    assert BOB in dump
    assert columns(store, f"SELECT state FROM messages WHERE id = {queued}") == [("suppressed",)]
    assert await store.is_opted_out(ALICE)
    assert not await store.is_opted_out(BOB)
    keyword = columns(store, "SELECT keyword, number_e164 LIKE 'erased:%' FROM opt_outs")
    assert keyword == [("STOP", 1)]


async def test_purge_without_opt_out_records_one(store: Store) -> None:
    """A person who asks to be forgotten without having said STOP is opted out by the
    erasure itself (as a hash), so a later missed call does not text them."""
    await add_call(store, "a", BOB, NEW)
    await purge_number(store, BOB, NOW)
    assert await store.is_opted_out(BOB)
    assert columns(store, "SELECT keyword, origin FROM opt_outs") == [("ERASE", "erasure request")]


def test_the_summary_counts_in_words() -> None:
    """What `purge` and the retention log print: each count with its noun, singular
    for one (the one plural rule, agent/plural.py), never "call(s)"."""
    assert str(Anonymised(1, 0, 2, 1, 1)) == (
        "1 call, 0 texts, 2 replies anonymised, 1 open text withdrawn, 1 old backup deleted"
    )
