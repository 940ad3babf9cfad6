"""The feed counter (`feed_seq`, schema 5/14): every insert into a feed table and every
change the feeds follow takes the counter's next value, once. Over a mix of inserts
(stamped by the INSERT itself or, at sites that do not give `change_seq`, by the
trigger), ignored inserts, upserts that update, updates, rolled-back writes and group
commits, each step moves the counter by exactly the changes it made, and the rows it
changed hold exactly the new values, in the order it changed them; a store migrated
from schema 13 with rows in it goes on from where it was. The same checks fail on
broken variants of the triggers or of an insert site."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.store import Store
from agent.store import calls as calls_module
from agent.store.cases import Miss
from agent.store.schema import MIGRATIONS, NEXT_CHANGE
from tests.agent.conftest import call
from tests.agent.test_store import queue

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
CALLER = "+15145550123"

Key = tuple[str, int]
# A step returns the rows it changed, in change order (a set: in some order).
Step = Callable[[Store], Awaitable[list[Key] | set[Key]]]

_FEED_ROWS = " UNION ALL ".join(
    f"SELECT '{table}', id, change_seq FROM {table}"
    for table in ("calls", "messages", "replies", "cases")
)


class Boom(Exception):
    pass


async def _snapshot(store: Store) -> tuple[dict[Key, int], int]:
    rows = await store.fetchall(_FEED_ROWS)
    return {(str(t), int(i)): int(s) for t, i, s in rows}, int(
        await store.scalar("SELECT n FROM feed_seq")
    )


def _check_step(
    name: str,
    before: tuple[dict[Key, int], int],
    after: tuple[dict[Key, int], int],
    expected: list[Key] | set[Key],
) -> None:
    (old, n0), (new, n1) = before, after
    changed = sorted((seq, key) for key, seq in new.items() if old.get(key) != seq)
    moved = f"feed: {name}: counter moved {n1 - n0}, {len(expected)} changes"
    assert n1 - n0 == len(expected), moved
    assert [seq for seq, _ in changed] == list(range(n0 + 1, n1 + 1)), f"feed: {name}: {changed}"
    keys = [key for _, key in changed]
    assert (set(keys) if isinstance(expected, set) else keys) == expected, f"feed: {name}: {keys}"
    assert len(set(new.values())) == len(new), f"feed: {name}: a change_seq given twice"
    assert max(new.values(), default=0) == n1, f"feed: {name}: the counter is not at the last"


def _miss(call_id: int, caller: str | None, minute: int) -> Miss:
    at = NOW + timedelta(minutes=minute)
    return Miss(call_id, caller, caller or "", "service", at, at + timedelta(hours=1), at)


async def _new_call(store: Store, call_id: str, remote: str | None = CALLER) -> list[Key]:
    row_id, stored = await store.insert_call(call("2026-11-23 10:00", call_id=call_id), remote, NOW)
    return [("calls", row_id)] if stored else []


async def _decided_call(store: Store) -> list[Key]:
    record = call("2026-11-23 10:05", call_id="decided")
    row_id, _ = await store.insert_call(record, None, NOW, ("service", False, "texted"))
    return [("calls", row_id)]


async def _decide(store: Store) -> list[Key]:
    row_id, _ = await store.insert_call(call("2026-11-23 10:00", call_id="a"), CALLER, NOW)
    await store.set_decision(row_id, "service", False, "texted")
    return [("calls", row_id)]


async def _queue(store: Store) -> list[Key]:
    message_id = await queue(store, "k1")
    return [("messages", message_id)] if message_id else []


async def _open(store: Store) -> list[Key]:
    case_id, opened = await store.open_or_join_case(_miss(1, CALLER, 0), NOW)
    assert opened
    return [("cases", case_id)]


async def _join(store: Store) -> list[Key]:
    case_id, opened = await store.open_or_join_case(_miss(2, CALLER, 5), NOW)
    assert not opened
    return [("cases", case_id)]


async def _withheld(store: Store) -> list[Key]:
    case_id, opened = await store.open_or_join_case(_miss(2, None, 6), NOW)
    assert opened
    return [("cases", case_id)]


async def _reply(store: Store) -> list[Key]:
    return [("replies", await store.add_reply(CALLER, "ok", NOW, "gsm", "reply"))]


async def _unstamped_reply(store: Store) -> list[Key]:
    """An insert site that does not give `change_seq`: the trigger stamps the row."""
    cursor = await store.write_one(
        "INSERT INTO replies (from_e164, body, received_at, sender, kind) "
        "VALUES (?, 'oui', ?, 'gsm', 'reply')",
        (CALLER, NOW.isoformat()),
    )
    return [("replies", int(cursor.lastrowid or 0))]


async def _staff_reply(store: Store) -> list[Key]:
    """An unstamped insert of a message, then the case's update, in one transaction."""
    case_id = int(await store.scalar("SELECT id FROM cases WHERE caller_e164 = ?", (CALLER,)))
    message_id = await store.queue_staff_reply(
        case_id, CALLER, "service", "fr", "Bonjour", "alice", NOW, NOW + timedelta(hours=1)
    )
    return [("messages", message_id), ("cases", case_id)]


async def _recover(store: Store) -> list[Key]:
    assert await store.mark_recovered(CALLER, NOW, "answered_again") == 1
    return [("calls", int(await store.scalar("SELECT id FROM calls WHERE pbx_call_id = 'a'")))]


async def _rolled_back(store: Store) -> list[Key]:
    with pytest.raises(Boom):
        async with store.transaction():
            await _new_call(store, "undone")
            await queue(store, "undone")
            raise Boom
    return []


async def _call_and_text(store: Store) -> list[Key]:
    """The pipeline's shape: a call and its text in one transaction."""
    async with store.transaction():
        (call_key,) = await _new_call(store, "with-text")
        message_id = await queue(store, "k2", CALLER, call_key[1])
    return [call_key, ("messages", message_id or 0)]


async def _burst(store: Store) -> set[Key]:
    """Units and transactions queued behind one another share a group commit, each in
    its savepoint: one fails (its writes undone), one meets a row already stored."""

    async def failing() -> None:
        await _new_call(store, "failing")
        raise Boom

    async def unit(call_id: str) -> list[Key]:
        return await _new_call(store, call_id)

    async def member(call_id: str) -> list[Key]:
        async with store.transaction():
            found = await _new_call(store, call_id)
            message_id = await queue(store, f"burst-{call_id}")
        return [*found, ("messages", message_id or 0)]

    results = await asyncio.gather(
        store.atomic(lambda: unit("b1")),
        store.atomic(failing),
        member("b2"),
        store.atomic(lambda: unit("a")),  # stored already: ignored
        store.atomic(lambda: unit("b3")),
        return_exceptions=True,
    )
    assert isinstance(results[1], Boom)
    return {key for found in results if isinstance(found, list) for key in found}


async def _ignored_text(store: Store) -> list[Key]:
    assert await queue(store, "burst-b2") is None
    return []


STEPS: tuple[tuple[str, Step], ...] = (
    ("new call", lambda s: _new_call(s, "a")),
    ("same call again (ignored)", lambda s: _new_call(s, "a")),
    ("call stored decided", _decided_call),
    ("decision set (update)", _decide),
    ("text queued alone", _queue),
    ("same text again (ignored)", _queue),
    ("case opened (upsert inserts)", _open),
    ("case joined (upsert updates)", _join),
    ("withheld caller's case", _withheld),
    ("reply", _reply),
    ("reply stamped by the trigger", _unstamped_reply),
    ("staff reply: message and case", _staff_reply),
    ("call recovered (update)", _recover),
    ("rolled back", _rolled_back),
    ("call and text together", _call_and_text),
    ("group commit burst", _burst),
    ("text of the burst again (ignored)", _ignored_text),
)


async def run_steps(store: Store) -> int:
    """Run and check the steps; how many changes they made."""
    changes = 0
    for name, step in STEPS:
        before = await _snapshot(store)
        expected = await step(store)
        _check_step(name, before, await _snapshot(store), expected)
        changes += len(expected)
    return changes


CHANGES = 18  # the steps' changes: the burst's 4, 2 each for two steps, 1 each for ten


async def test_every_change_takes_the_next_value_once(tmp_path: Path) -> None:
    async with Store(tmp_path / "feed.db") as store:
        assert await run_steps(store) == CHANGES
        assert await store.scalar("SELECT n FROM feed_seq") == CHANGES


def _stored_at(path: Path, version: int) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    for number in range(version):
        conn.executescript(
            f"BEGIN IMMEDIATE; {MIGRATIONS[number]}; PRAGMA user_version={number + 1}; COMMIT;"
        )
    return conn


_OLD_ROWS = """
INSERT INTO calls (source, pbx_call_id, started_at, ended_at, received_at, direction,
    outcome, remote_e164) VALUES ('pbx', 'old-1', '2026-11-22T10:00:00', '2026-11-22T10:01:00',
    '2026-11-22T10:01:00', 'inbound', 'missed', '+15145550999');
INSERT INTO calls (source, pbx_call_id, started_at, ended_at, received_at, direction,
    outcome) VALUES ('pbx', 'old-2', '2026-11-22T11:00:00', '2026-11-22T11:01:00',
    '2026-11-22T11:01:00', 'inbound', 'answered');
UPDATE calls SET decision = 'texted' WHERE pbx_call_id = 'old-1';
INSERT INTO messages (call_id, to_e164, department, template, language, dedup_key, state,
    not_before, expires_at, created_at, updated_at) VALUES (1, '+15145550999', 'service',
    'open', 'fr', 'old', 'sent', 'x', 'x', 'x', 'x');
INSERT INTO replies (from_e164, body, received_at, sender, kind)
    VALUES ('+15145550999', 'ok', 'x', 'gsm', 'reply');
INSERT INTO cases (caller_e164, department, state, opened_at, last_miss_at, touched_at,
    updated_at) VALUES ('+15145550999', 'service', 'open', 'x', 'x', 'x', 'x');
"""


async def test_migration_from_13_keeps_rows_and_the_counter(tmp_path: Path) -> None:
    """A store of schema 13 with rows (stamped by the old triggers) keeps them and its
    counter; the feeds go on from there: a reader who saw every change before the
    upgrade gets every later one, nothing twice."""
    path = tmp_path / "old.db"
    with _stored_at(path, 13) as conn:
        conn.executescript(_OLD_ROWS)
        old = conn.execute(_FEED_ROWS).fetchall()
        (n,) = conn.execute("SELECT n FROM feed_seq").fetchone()
    conn.close()
    assert sorted(s for _, _, s in old) == [2, 3, 4, 5, 6] and n == 6  # old-1 changed: 1 -> 3
    async with Store(path) as store:
        assert await store.scalar("PRAGMA user_version") == len(MIGRATIONS) >= 14
        assert sorted(await store.fetchall(_FEED_ROWS)) == sorted(old)
        assert await store.scalar("SELECT n FROM feed_seq") == n
        assert await run_steps(store) == CHANGES
        assert await store.scalar("SELECT n FROM feed_seq") == n + CHANGES
        later, _ = await store.rows_after("calls", "id", n, 100)
        stored = await store.fetchall("SELECT id FROM calls WHERE change_seq > ?", (n,))
        assert sorted(later) == sorted(stored) and len(later) == 6  # a, decided, with-text, b1-3
    triggers = sqlite3.connect(path).execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE '%_stamped'"
    )
    assert sorted(t for (t,) in triggers) == [
        "calls_stamped",
        "cases_stamped",
        "messages_stamped",
        "replies_stamped",
    ]


# Broken variants: each must make the same steps fail.
_BROKEN_TRIGGERS = {
    "bump missing": "DROP TRIGGER calls_stamped",
    "both triggers fire": (
        "DROP TRIGGER calls_new; CREATE TRIGGER calls_new AFTER INSERT ON calls BEGIN "
        "UPDATE feed_seq SET n = n + 1; "
        "UPDATE calls SET change_seq = (SELECT n FROM feed_seq) WHERE id = NEW.id; END"
    ),
    "bump before the insert (also when ignored)": (
        "DROP TRIGGER calls_stamped; CREATE TRIGGER calls_stamped BEFORE INSERT ON calls "
        "WHEN NEW.change_seq IS NOT NULL BEGIN UPDATE feed_seq SET n = n + 1; END"
    ),
}


@pytest.mark.parametrize("variant", sorted(_BROKEN_TRIGGERS))
async def test_the_checks_fail_on_broken_triggers(tmp_path: Path, variant: str) -> None:
    path = tmp_path / "broken.db"
    async with Store(path):
        pass
    with sqlite3.connect(path, isolation_level=None) as conn:
        conn.executescript(_BROKEN_TRIGGERS[variant])
    conn.close()
    async with Store(path) as store:
        with pytest.raises(AssertionError, match=r"^feed: "):
            await run_steps(store)


async def test_the_checks_fail_on_a_stale_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An insert site giving the counter's current value instead of its next one."""
    assert NEXT_CHANGE in calls_module._INSERT_CALL
    stale = calls_module._INSERT_CALL.replace(NEXT_CHANGE, "(SELECT n FROM feed_seq)")
    monkeypatch.setattr(calls_module, "_INSERT_CALL", stale)
    async with Store(tmp_path / "stale.db") as store:
        with pytest.raises(AssertionError, match=r"^feed: "):
            await run_steps(store)


async def test_after_the_mix_each_feed_serves_each_row_once(tmp_path: Path) -> None:
    """Paged one row at a time by `change_seq`, each feed serves each of its rows
    once, at its latest change."""
    async with Store(tmp_path / "feed.db") as store:
        await run_steps(store)
        for table in ("calls", "messages", "replies", "cases"):
            served: list[int] = []
            cursor = 0
            while True:
                rows, _ = await store.rows_after(table, "id, change_seq", cursor, 1)
                if not rows:
                    break
                served.append(int(rows[0][0]))
                cursor = int(rows[0][1])
            assert sorted(served) == [
                int(i) for (i,) in await store.fetchall(f"SELECT id FROM {table} ORDER BY id")
            ]
