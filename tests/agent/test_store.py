"""The store's rules: outbox unique key, claims committed before the send, the
start-up crash rule, unusable files and directories, migrations with a backup."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.errors import StoreError
from agent.model import MessageState, Outcome
from agent.store import Store
from agent.store import base as store_module
from agent.store.schema import MIGRATIONS
from tests.agent.conftest import call

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


async def queue(
    store: Store,
    key: str = "+15145550123:1",
    to: str = "+15145550123",
    call_id: int | None = None,
) -> int | None:
    return await store.enqueue(
        call_id=call_id,
        to_e164=to,
        department="service",
        template="open",
        language="fr",
        dedup_key=key,
        not_before=NOW,
        expires_at=NOW + timedelta(hours=4),
        now=NOW,
    )


def row(path: Path, sql: str) -> tuple[object, ...]:
    """Read through a separate connection: only committed data is visible."""
    with sqlite3.connect(path) as conn:
        found = conn.execute(sql).fetchone()
    return tuple(found) if found else ()


async def test_outbox_key_queues_a_text_once(store: Store) -> None:
    """The same (caller, dedup window) key can never be queued twice."""
    first = await queue(store)
    assert first is not None
    assert await queue(store) is None
    assert await queue(store, key="+15145550123:2") not in (None, first)
    assert await store.scalar("SELECT COUNT(*) FROM messages") == 2


async def test_a_lone_enqueue_is_committed_when_it_returns(store: Store) -> None:
    """With no other write under way, an enqueue is its own transaction: committed
    (seen by another connection) when it returns, without waiting for company; its
    id is the row's, and the same key again is refused the same way."""
    before = store.group.commits
    message_id = await queue(store)
    assert row(store.path, "SELECT id, state, dedup_key FROM messages") == (
        message_id,
        "pending",
        "+15145550123:1",
    )
    assert await queue(store) is None
    assert store.group.commits == before  # no group batch was needed


async def test_enqueues_during_a_write_share_its_next_commit(store: Store) -> None:
    """Enqueues that arrive while another write holds the store join one group
    commit instead of one commit each; each gets its own id (a repeated key gets
    None), and all are committed when they return."""
    release = asyncio.Event()

    async def writer() -> None:
        async with store.transaction() as conn:
            await conn.execute("INSERT INTO meta (key, value) VALUES ('k-writer', 'x')")
            await release.wait()

    holder = asyncio.create_task(writer())
    await asyncio.sleep(0.05)
    keys = [f"+1514555{i:04d}:1" for i in range(10)] + ["+15145550003:1"]
    queued = [asyncio.create_task(queue(store, key=k, to=k[:-2])) for k in keys]
    await asyncio.sleep(0.05)
    commits, members = store.group.commits, store.group.members
    release.set()
    await holder
    ids = await asyncio.gather(*queued)
    assert ids[-1] is None and None not in ids[:-1] and len(set(ids[:-1])) == 10
    assert store.group.members - members == 1 + len(keys)  # the writer's and each enqueue
    assert store.group.commits - commits <= 3
    assert row(store.path, "SELECT COUNT(*) FROM messages") == (10,)


async def test_claim_is_committed_before_the_send(store: Store) -> None:
    """A claimed message is `sending` with its attempt counted, visible to another
    connection, before any sender sees it."""
    message_id = await queue(store)
    (claimed,) = await store.claim_due(NOW)
    assert claimed.id == message_id and claimed.attempts == 1
    assert row(store.path, "SELECT state, attempts FROM messages") == ("sending", 1)
    assert await store.claim_due(NOW) == []


async def test_not_yet_due_is_not_claimed(store: Store) -> None:
    """A message is claimed only once its `not_before` has passed."""
    await queue(store)
    assert await store.claim_due(NOW - timedelta(seconds=1)) == []
    assert await store.next_due_at() == NOW


async def test_crash_rule_requeues_once_then_unknown(store: Store) -> None:
    """A message found `sending` at start-up is requeued once (attempt recorded as
    `interrupted`); interrupted a second time it goes to `unknown`, never looping."""
    message_id = await queue(store)
    await store.claim_due(NOW)
    assert await store.recover_interrupted(NOW) == (1, 0)
    state = await store.fetchone("SELECT state FROM messages WHERE id = ?", (message_id,))
    assert state == ("retry_wait",)
    (again,) = await store.claim_due(NOW)
    assert again.attempts == 2
    assert await store.recover_interrupted(NOW) == (0, 1)
    assert (await store.message_counts())[MessageState.UNKNOWN] == 1
    results = await store.fetchall("SELECT result FROM attempts ORDER BY id")
    assert results == [("interrupted",), ("interrupted",)]
    assert await store.claim_due(NOW + timedelta(days=1)) == []


async def test_crash_rule_leaves_finished_messages_alone(store: Store) -> None:
    """Only `sending` rows are touched by the crash rule."""
    await queue(store)
    assert await store.recover_interrupted(NOW) == (0, 0)
    assert (await store.message_counts())[MessageState.PENDING] == 1


async def test_corrupt_file_is_a_store_error(tmp_path: Path) -> None:
    """A file that is not a SQLite database gives a StoreError that says what to do."""
    path = tmp_path / "ringback.db"
    path.write_bytes(b"this is not a database, just some text " * 100)
    with pytest.raises(StoreError, match=r"is corrupt or not a ringback database.*move the file"):
        async with Store(path):
            pass


async def test_missing_directory_is_a_store_error(tmp_path: Path) -> None:
    """A store path in a directory that does not exist names that directory."""
    with pytest.raises(StoreError, match="does not exist"):
        async with Store(tmp_path / "nowhere" / "ringback.db"):
            pass


async def test_unwritable_directory_is_a_store_error(tmp_path: Path) -> None:
    """A directory ringback may not write to gives a StoreError saying so."""
    if os.geteuid() == 0:
        directory = Path("/sys")  # read-only even for root
    else:
        directory = tmp_path / "locked"
        directory.mkdir()
        directory.chmod(0o500)
    try:
        with pytest.raises(StoreError, match="is not writable"):
            async with Store(directory / "ringback.db"):
                pass
    finally:
        if directory != Path("/sys"):
            directory.chmod(0o700)


async def test_newer_schema_is_refused(tmp_path: Path) -> None:
    """A database written by a newer ringback is not touched."""
    path = tmp_path / "ringback.db"
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(StoreError, match="newer ringback"):
        async with Store(path):
            pass


async def test_migration_keeps_a_backup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Migrating an older schema first copies the database aside, and a second
    backup of the same schema does not overwrite the first."""
    path = tmp_path / "ringback.db"
    async with Store(path) as old:
        await old.insert_call(call("2026-11-23 10:00"), "+15145550123", NOW)
    newer = (*MIGRATIONS, "CREATE TABLE reports (id INTEGER PRIMARY KEY)")
    monkeypatch.setattr(store_module, "MIGRATIONS", newer)
    current = len(MIGRATIONS)
    (tmp_path / f"ringback.db.schema{current}.bak").write_bytes(b"an earlier backup")
    async with Store(path) as migrated:
        assert await migrated.scalar("PRAGMA user_version") == len(newer)
        assert await migrated.scalar("SELECT COUNT(*) FROM calls") == 1
    assert (tmp_path / f"ringback.db.schema{current}.bak").read_bytes() == b"an earlier backup"
    backup = tmp_path / f"ringback.db.schema{current}.1.bak"
    assert row(backup, "PRAGMA user_version") == (current,)
    assert row(backup, "SELECT COUNT(*) FROM calls") == (1,)


async def test_calls_are_stored_once(store: Store) -> None:
    """The same PBX call id from the same source is one row."""
    record = call("2026-11-23 10:00")
    first, new = await store.insert_call(record, "+15145550123", NOW)
    again, new_again = await store.insert_call(record, "+15145550123", NOW)
    assert (first, new, new_again) == (again, True, False)


async def test_recovery_on_29_february(store: Store) -> None:
    """Marking earlier calls recovered works on a leap day (it used to crash)."""
    leap = datetime(2028, 2, 29, 15, 0, tzinfo=UTC)
    await store.insert_call(call(leap - timedelta(minutes=5)), "+15145550123", leap)
    assert await store.mark_recovered("+15145550123", leap, "answered_again") == 1


async def test_answered_calls_count_as_recovery_either_way(store: Store) -> None:
    """An answered call with the number, inbound or outbound, is found in the window."""
    await store.insert_call(
        call(NOW, outcome=Outcome.ANSWERED, caller="5145550123"), "+15145550123", NOW
    )
    assert await store.answered_between("+15145550123", NOW - timedelta(minutes=1), NOW)
    assert not await store.answered_between("+15145550124", NOW - timedelta(minutes=1), NOW)
    assert not await store.answered_between(
        "+15145550123", NOW + timedelta(seconds=1), NOW + timedelta(minutes=1)
    )
