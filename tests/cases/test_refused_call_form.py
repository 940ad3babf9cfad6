"""A click-to-call the PBX did not place is stored in a form of its own
(`call failed: <kind> <the PBX's words>`), so an advisor's typed note never reads
as one; schema 15 gives the rows the desk stored before (a logged callback whose
note was that form) the same form, and leaves every other row as it was."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from agent.desk.timeline import call_failed, line_words
from agent.model import AttemptResult
from agent.store import Store
from agent.store.cases import Miss
from agent.store.schema import MIGRATIONS
from tests.agent.conftest import call, local

CALLER = "+15145550123"
ACTIONS = "SELECT action, detail FROM case_actions WHERE action = 'attempt' ORDER BY id"


async def _case(store: Store) -> int:
    now = local("2026-11-23 10:30")
    call_id, _ = await store.insert_call(call("2026-11-23 10:00"), CALLER, now)
    case_id, _ = await store.open_or_join_case(
        Miss(call_id, CALLER, CALLER, "service", now, now, now), now
    )
    return case_id


async def test_a_refusal_and_a_typed_note_are_told_apart(tmp_path: Path) -> None:
    now = local("2026-11-23 10:40")
    async with Store(tmp_path / "r.db") as store:
        case_id = await _case(store)
        refusal = call_failed("no_answer", "TimeoutError")
        no = AttemptResult.NOT_ANSWERED
        await store.log_staff_attempt(case_id, "ana", no, refusal, now, refused=True)
        await store.log_staff_attempt(case_id, "ana", no, "call failed: my cell died", now)
        rows = await store.fetchall(ACTIONS)
        attempts = await store.scalar("SELECT attempts FROM cases WHERE id = ?", (case_id,))
    assert rows == [
        ("attempt", "call failed: no_answer TimeoutError"),
        ("attempt", "logged not_answered call failed: my cell died"),
    ]
    assert attempts == 2  # both are attempts on the case
    said = [line_words(action, detail, "en") for action, detail in rows]
    assert said == [
        "tried to call the caller: the phone system did not answer (TimeoutError)",
        "logged a callback made elsewhere: no answer — call failed: my cell died",
    ]


async def test_schema_15_gives_the_old_refusals_their_form(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    async with Store(path) as store:
        case_id = await _case(store)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA user_version = 14")  # as a store before schema 15 had them
    for action, detail in [
        ("attempt", "logged not_answered call failed: Asterisk did not answer (TimeoutError)"),
        ("attempt", "logged not_answered call failed: refused Permission denied"),
        ("attempt", "logged voicemail call failed: left a message"),
        ("attempt", "logged not_answered from my cell"),
        ("note", "logged not_answered call failed: x"),
    ]:
        conn.execute(
            "INSERT INTO case_actions (case_id, at, actor, action, detail) "
            "VALUES (?, 'x', 'ana', ?, ?)",
            (case_id, action, detail),
        )
    conn.close()
    async with Store(path) as store:
        assert await store.scalar("PRAGMA user_version") == len(MIGRATIONS) >= 15
        rows = await store.fetchall(
            "SELECT action, detail FROM case_actions WHERE actor = 'ana' ORDER BY id"
        )
    assert rows == [
        ("attempt", "call failed: Asterisk did not answer (TimeoutError)"),
        ("attempt", "call failed: refused Permission denied"),
        ("attempt", "logged voicemail call failed: left a message"),
        ("attempt", "logged not_answered from my cell"),
        ("note", "logged not_answered call failed: x"),
    ]
