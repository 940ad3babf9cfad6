"""Cases through the real pipeline and store on a frozen clock: misses open and join
cases, calls back are attempts or proof, replies mark cases replied, staff close and
reopen, the sweep escalates and expires."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from agent.cases.actions import ALLOWED, BadResolution, close
from agent.cases.sweep import sweep_once
from agent.config.settings import Settings
from agent.model import CallRecord, Direction, InboundText, Outcome, Resolution
from agent.store import Store
from agent.store.cases import CaseError
from tests.agent.conftest import call, local
from tests.cases.conftest import pipeline_at

CALLER = "+15145550123"


def callback(
    when: str,
    *,
    talk: float = 60.0,
    outcome: Outcome = Outcome.ANSWERED,
    ext: str = "201",
    to: str = "5145550123",
) -> CallRecord:
    """Extension `ext` calls the caller back; the call ends at `when`."""
    return call(
        when,
        direction=Direction.OUTBOUND,
        caller=ext,
        dialed=to,
        outcome=outcome,
        talk_seconds=talk,
        ring_seconds=10.0 + talk,
    )


async def cases(store: Store) -> list[dict[str, Any]]:
    return list(reversed(await store.cases(limit=100)))


async def test_a_late_miss_joins_without_moving_the_last_miss_back(store: Store) -> None:
    """Opening and joining is one statement (an insert that meets the open case): a
    miss that ended before the case's last one joins it (counted, its id appended,
    a `joined` line) without moving `last_miss_at` back, and only the opening asks
    for a staff notification; a withheld caller's misses are each their own case."""
    from agent.store.cases import Miss

    now = local("2026-11-23 10:30")

    def miss(call_id: int, at: str, caller: str | None = CALLER) -> Miss:
        when = local(at)
        return Miss(call_id, caller, caller or "", "service", when, when, when)

    days = ("2026-11-23 10:00", "2026-11-23 10:10", "2026-11-23 10:05")
    ids = [(await store.insert_call(call(at), CALLER, now))[0] for at in days]
    assert await store.open_or_join_case(miss(ids[0], "2026-11-23 10:00"), now) == (1, True)
    assert await store.open_or_join_case(miss(ids[1], "2026-11-23 10:10"), now) == (1, False)
    assert await store.open_or_join_case(miss(ids[2], "2026-11-23 10:05"), now) == (1, False)
    (case,) = await cases(store)
    assert (case["calls"], case["call_ids"]) == (3, ",".join(map(str, ids)))
    assert case["last_miss_at"].startswith("2026-11-23T15:10")
    actions = await store.fetchall("SELECT action FROM case_actions ORDER BY id")
    assert [a for (a,) in actions] == ["opened", "joined", "joined"]
    assert await store.scalar("SELECT COUNT(*) FROM case_notifications") == 1
    assert await store.open_or_join_case(miss(ids[0], "2026-11-23 10:00", None), now) == (2, True)
    assert await store.open_or_join_case(miss(ids[1], "2026-11-23 10:10", None), now) == (3, True)


async def test_misses_open_one_case_per_caller_and_department(
    settings: Settings, store: Store
) -> None:
    """Two misses to Service join one case (calls, call ids, first and last miss), a
    miss to Sales opens another; a later miss after closing opens a new case."""
    pipeline, clock = pipeline_at(settings, store, "2026-11-23 10:10")
    first = await pipeline.accept(call("2026-11-23 10:00"))
    second = await pipeline.accept(call("2026-11-23 10:05", ivr_path="2"))
    await pipeline.accept(call("2026-11-23 10:06", dialed="5145550101"))
    found = await cases(store)
    assert [(c["department"], c["calls"], c["state"]) for c in found] == [
        ("service", 2, "open"),
        ("sales", 1, "open"),
    ]
    service = found[0]
    assert service["call_ids"] == f"{first.call_id},{second.call_id}"
    assert service["opened_at"] < service["last_miss_at"]
    assert service["caller_e164"] == CALLER
    history = await store.case_history(service["id"])
    assert [c["ivr_path"] for c in history["calls"]] == ["", "2"]
    assert [t["template"] for t in history["texts"]] == ["open"]
    await close(store, service["id"], "not_needed", "", "desk", clock())
    await pipeline.accept(call("2026-11-23 11:00"))
    assert [(c["department"], c["state"]) for c in await cases(store)] == [
        ("service", "closed"),
        ("sales", "open"),
        ("service", "open"),
    ]


@pytest.mark.parametrize(
    ("record", "opens"),
    [
        (call("2026-11-23 10:00", outcome=Outcome.VOICEMAIL), True),
        (call("2026-11-23 10:00", outcome=Outcome.ABANDONED_IVR), True),
        (call("2026-11-23 10:00", outcome=Outcome.BUSY), True),
        (call("2026-11-23 10:00", outcome=Outcome.SHORT_ABANDON), False),
        (call("2026-11-23 10:00", outcome=Outcome.ANSWERED), False),
        (call("2026-11-23 10:00", direction=Direction.INTERNAL, caller="201"), False),
        (callback("2026-11-23 10:00", outcome=Outcome.MISSED), False),
        (call("2026-11-23 10:00", caller="+1 876 555 0123"), True),  # texting refused
    ],
)
async def test_which_calls_open_a_case(
    settings: Settings, store: Store, record: CallRecord, opens: bool
) -> None:
    """Every texted outcome opens a case whether or not a text was allowed; short
    abandons, answered, internal and outbound calls never do."""
    pipeline, _ = pipeline_at(settings, store, "2026-11-23 10:01")
    await pipeline.accept(record)
    assert len(await cases(store)) == (1 if opens else 0)


async def test_withheld_callers_get_a_case_each_callback_impossible(
    settings: Settings, store: Store
) -> None:
    """A withheld number has no number to join on or call back: one case per miss,
    marked callback impossible, with no SLA to escalate."""
    pipeline, _ = pipeline_at(settings, store, "2026-11-23 10:10")
    await pipeline.accept(call("2026-11-23 10:00", caller="anonymous"))
    await pipeline.accept(call("2026-11-23 10:01", caller="anonymous"))
    found = await cases(store)
    assert [(c["caller_e164"], c["callback_possible"], c["sla_due_at"]) for c in found] == [
        (None, 0, None),
        (None, 0, None),
    ]
    assert (await sweep_once(store, settings, local("2026-11-24 10:00")))[0] == []


async def test_a_new_case_asks_for_a_staff_notification_after_the_grace(
    settings: Settings, store: Store
) -> None:
    """The seam for staff notifications: a pending row per new case, due after the
    caller's grace delay; a joining miss asks for none."""
    pipeline, _ = pipeline_at(settings, store, "2026-11-23 10:10")
    await pipeline.accept(call("2026-11-23 10:00"))
    await pipeline.accept(call("2026-11-23 10:05"))
    rows = await store.case_notifications()
    assert [(r["kind"], r["department"]) for r in rows] == [("opened", "service")]
    assert rows[0]["not_before"] == (local("2026-11-23 10:00") + timedelta(seconds=90)).isoformat(
        timespec="microseconds"
    )


# (calls after the miss at 10:00, expected state, resolution, attempts, proof index)
CALLBACKS = [
    ("before the text", [callback("2026-11-23 10:01:30")], "closed", "reached", 1, 0),
    ("after the text", [callback("2026-11-23 11:30")], "closed", "reached", 1, 0),
    (
        "rang out",
        [callback("2026-11-23 10:30", outcome=Outcome.MISSED, talk=0)],
        "open",
        None,
        1,
        None,
    ),
    ("busy", [callback("2026-11-23 10:30", outcome=Outcome.BUSY, talk=0)], "open", None, 1, None),
    ("short: voicemail", [callback("2026-11-23 10:30", talk=5)], "open", None, 1, None),
    (
        "rang out, then reached",
        [
            callback("2026-11-23 10:30", outcome=Outcome.MISSED, talk=0),
            callback("2026-11-23 11:00"),
        ],
        "closed",
        "reached",
        2,
        1,
    ),
    (
        "caller called again, a person answered",
        [call("2026-11-23 10:40", outcome=Outcome.ANSWERED, answered_by="202", talk_seconds=90)],
        "closed",
        "reached",
        1,
        0,
    ),
    (
        "another number called",
        [callback("2026-11-23 10:30", to="5145550999")],
        "open",
        None,
        0,
        None,
    ),
]


@pytest.mark.parametrize(
    ("label", "after", "state", "resolution", "attempts", "proof"),
    CALLBACKS,
    ids=[row[0] for row in CALLBACKS],
)
async def test_calls_back_are_attempts_or_proof(
    settings: Settings,
    store: Store,
    label: str,
    after: list[CallRecord],
    state: str,
    resolution: str | None,
    attempts: int,
    proof: int | None,
) -> None:
    """Only an answered call long enough (or the caller's call answered by a person)
    closes the case as reached, with the proof call, the extension and the time; a
    call that rang out or reached voicemail is an attempt."""
    pipeline, clock = pipeline_at(settings, store, "2026-11-23 10:00:05")
    await pipeline.accept(call("2026-11-23 10:00"))
    stored = []
    for record in after:
        clock.now = record.ended_at
        stored.append((await pipeline.accept(record), record))
    (case,) = await cases(store)
    assert (case["state"], case["resolution"], case["attempts"]) == (state, resolution, attempts)
    if attempts:
        assert case["first_attempt_at"] == after[0].started_at.isoformat(timespec="microseconds")
    if proof is None:
        assert case["proof_call_id"] is None and case["reached_at"] is None
    else:
        accepted, record = stored[proof]
        assert case["proof_call_id"] == accepted.call_id
        assert case["reached_by"] == (record.answered_by or record.caller_raw)
        assert case["reached_at"] == record.started_at.isoformat(timespec="microseconds")


async def test_a_call_before_the_first_miss_proves_nothing(
    settings: Settings, store: Store
) -> None:
    """A callback that started before the miss (stored late) is not proof for it."""
    pipeline, _ = pipeline_at(settings, store, "2026-11-23 10:10")
    await pipeline.accept(call("2026-11-23 10:00"))
    await pipeline.accept(callback("2026-11-23 09:59:00"))
    (case,) = await cases(store)
    assert (case["state"], case["attempts"]) == ("open", 0)


async def test_one_callback_closes_the_callers_cases_in_every_department(
    settings: Settings, store: Store
) -> None:
    """A number with a Service and a Sales case: one answered callback closes both,
    each with the proof."""
    pipeline, clock = pipeline_at(settings, store, "2026-11-23 10:10")
    await pipeline.accept(call("2026-11-23 10:00"))
    await pipeline.accept(call("2026-11-23 10:02", dialed="5145550101"))
    clock.now = local("2026-11-23 10:20")
    proof = await pipeline.accept(callback("2026-11-23 10:20", ext="101"))
    found = await cases(store)
    assert [
        (c["department"], c["resolution"], c["proof_call_id"], c["reached_by"]) for c in found
    ] == [
        ("service", "reached", proof.call_id, "101"),
        ("sales", "reached", proof.call_id, "101"),
    ]


async def test_a_reply_marks_the_callers_cases_replied_and_they_stay_open(
    settings: Settings, store: Store
) -> None:
    """A reply marks every open case of the number replied and asks for a staff
    notification each; STOP does not; a reply from a number with no case goes to
    the default department's staff. A callback after the reply still closes it."""
    pipeline, clock = pipeline_at(settings, store, "2026-11-23 10:10")
    await pipeline.accept(call("2026-11-23 10:00"))
    await pipeline.inbound(InboundText(CALLER, "STOP", local("2026-11-23 10:04"), "dry-run"))
    assert (await cases(store))[0]["replied_at"] is None
    await pipeline.inbound(
        InboundText(CALLER, "Rappelez-moi", local("2026-11-23 10:05"), "dry-run")
    )
    await pipeline.inbound(
        InboundText("+15145550777", "Allo?", local("2026-11-23 10:06"), "dry-run")
    )
    (case,) = await cases(store)
    assert (case["state"], case["replied_at"]) == (
        "open",
        local("2026-11-23 10:05").isoformat(timespec="microseconds"),
    )
    history = await store.case_history(case["id"])
    assert [r["body"] for r in history["replies"]] == ["Rappelez-moi"]
    notes = await store.case_notifications()
    assert [(n["kind"], n["case_id"], n["department"]) for n in notes] == [
        ("opened", case["id"], "service"),
        ("reply", case["id"], "service"),
        ("reply", None, "service"),
    ]
    clock.now = local("2026-11-23 10:30")
    await pipeline.accept(callback("2026-11-23 10:30"))
    assert (await cases(store))[0]["resolution"] == "reached"


async def test_escalates_once_past_the_sla_with_no_attempt(
    settings: Settings, store: Store
) -> None:
    """Service's 30 min: nothing at 10:29, escalated at 10:31 with a notification,
    never twice; a case with an attempt is not escalated."""
    pipeline, _clock = pipeline_at(settings, store, "2026-11-23 10:00:05")
    await pipeline.accept(call("2026-11-23 10:00"))
    await pipeline.accept(call("2026-11-23 10:00", caller="5145550124"))
    await pipeline.accept(
        callback("2026-11-23 10:10", to="5145550124", outcome=Outcome.MISSED, talk=0)
    )
    assert await sweep_once(store, settings, local("2026-11-23 10:29")) == ([], [])
    escalated, _ = await sweep_once(store, settings, local("2026-11-23 10:31"))
    assert await sweep_once(store, settings, local("2026-11-23 10:45")) == ([], [])
    first = (await cases(store))[0]
    assert escalated == [first["id"]]
    assert first["escalated_at"] == local("2026-11-23 10:31").isoformat(timespec="microseconds")
    kinds = [(n["kind"], n["case_id"]) for n in await store.case_notifications()]
    assert (
        kinds.count(("escalated", first["id"])) == 1
        and len([k for k in kinds if k[0] == "escalated"]) == 1
    )


async def test_untouched_cases_expire(settings: Settings, store: Store) -> None:
    """After `expire_days` (14) untouched a case closes as expired; a note on the
    tenth day keeps another one open."""
    pipeline, _ = pipeline_at(settings, store, "2026-11-23 10:01")
    await pipeline.accept(call("2026-11-23 10:00"))
    await pipeline.accept(call("2026-11-23 10:00", caller="5145550124"))
    kept = (await cases(store))[1]["id"]
    await store.note_case(kept, "rappeler après son voyage", "desk", local("2026-12-03 10:00"))
    _, expired = await sweep_once(store, settings, local("2026-12-07 10:02"))
    found = await cases(store)
    assert expired == [found[0]["id"]]
    assert [(c["state"], c["resolution"]) for c in found] == [("closed", "expired"), ("open", None)]


async def test_staff_close_with_a_resolution_and_reopen_a_voicemail_callback(
    settings: Settings, store: Store
) -> None:
    """A case closed on a 15 s callback that reached voicemail is reopened: the call
    stays as an attempt (voicemail), the proof goes; staff close it again with the
    resolution that fits and a note, all on the timeline."""
    pipeline, _clock = pipeline_at(settings, store, "2026-11-23 10:01")
    await pipeline.accept(call("2026-11-23 10:00"))
    await pipeline.accept(callback("2026-11-23 10:20", talk=15))
    (case,) = await cases(store)
    assert case["resolution"] == "reached"
    await store.reopen_case(case["id"], "marie", local("2026-11-23 10:25"))
    await store.claim_case(case["id"], "marie", local("2026-11-23 10:26"))
    await close(
        store,
        case["id"],
        "no_answer_left_message",
        "message laissé",
        "marie",
        local("2026-11-23 10:27"),
    )
    (case,) = await cases(store)
    assert (
        case["state"],
        case["resolution"],
        case["proof_call_id"],
        case["owner"],
        case["note"],
    ) == (
        "closed",
        "no_answer_left_message",
        None,
        "marie",
        "message laissé",
    )
    history = await store.case_history(case["id"])
    assert [a["result"] for a in history["attempts"]] == ["voicemail"]
    assert [(a["actor"], a["action"]) for a in history["timeline"]] == [
        ("ringback", "opened"),
        ("201", "attempt"),
        ("201", "reached"),
        ("marie", "reopened"),
        ("marie", "claimed"),
        ("marie", "closed"),
    ]


async def test_staff_actions_refuse_what_the_case_cannot_take(
    settings: Settings, store: Store
) -> None:
    """A bad resolution names the allowed ones; an unknown case is not_found; closing
    a closed case or reopening one not closed on a callback is a conflict."""
    pipeline, _ = pipeline_at(settings, store, "2026-11-23 10:01")
    await pipeline.accept(call("2026-11-23 10:00"))
    (case,) = await cases(store)
    now = local("2026-11-23 10:05")
    with pytest.raises(BadResolution) as bad:
        await close(store, case["id"], "reached", "", "desk", now)
    assert str(bad.value).endswith(f"(expected one of: {', '.join(ALLOWED)})")
    with pytest.raises(CaseError) as missing:
        await close(store, 999, "spam", "", "desk", now)
    assert missing.value.reason == "not_found"
    with pytest.raises(CaseError) as reopen:
        await store.reopen_case(case["id"], "desk", now)
    assert reopen.value.reason == "conflict"
    await store.close_case(case["id"], Resolution.SPAM, "", "desk", now)
    with pytest.raises(CaseError) as again:
        await store.close_case(case["id"], Resolution.SPAM, "", "desk", now)
    assert again.value.reason == "conflict"


async def test_the_case_commits_with_the_call_in_one_transaction(
    settings: Settings, store: Store
) -> None:
    """Storing a missed call, its decision, its text and its case is one commit."""
    pipeline, _ = pipeline_at(settings, store, "2026-11-23 10:01")
    statements: list[str] = []
    await store.conn.set_trace_callback(statements.append)
    await pipeline.accept(call("2026-11-23 10:00"))
    await store.conn.set_trace_callback(None)  # type: ignore[arg-type]
    assert [s for s in statements if s.startswith(("BEGIN", "COMMIT"))] == [
        "BEGIN IMMEDIATE",
        "COMMIT",
    ]
    assert len(await cases(store)) == 1


class _BrokenHook:
    """A hook that writes a case and then fails."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def on_call(self, record: CallRecord, call_id: int, *args: Any) -> None:
        await self.store.conn.execute(
            "INSERT INTO case_calls (case_id, call_id) VALUES (0, ?)", (call_id,)
        )
        raise RuntimeError("bug")

    async def on_reply(self, *args: Any) -> None:
        raise RuntimeError("bug")


async def test_a_failing_case_hook_leaves_the_call_stored_and_is_counted(
    settings: Settings, store: Store
) -> None:
    """A bug in the case work undoes its own writes only: the call and its decision
    are stored, `case_errors` counts it."""
    pipeline, _ = pipeline_at(settings, store, "2026-11-23 10:01")
    pipeline.cases = _BrokenHook(store)
    await store.conn.execute("PRAGMA foreign_keys=OFF")
    accepted = await pipeline.accept(call("2026-11-23 10:00"))
    await store.conn.execute("PRAGMA foreign_keys=ON")
    assert await store.call_decision(accepted.call_id) == "notify"
    assert await store.scalar("SELECT COUNT(*) FROM case_calls") == 0
    assert pipeline.counters.get("case_errors") == 1


async def test_erasure_and_retention_take_the_number_and_notes_out_of_cases(
    settings: Settings, store: Store
) -> None:
    """`purge --number` closes the person's open case (`not_needed`) and drops their
    number and the staff's notes; retention does the same to closed cases past the
    limit and keeps their figures."""
    from agent.store.retention import apply_retention, purge_number

    pipeline, _ = pipeline_at(settings, store, "2026-11-23 10:01")
    await pipeline.accept(call("2026-11-23 10:00"))
    await pipeline.accept(call("2026-11-23 10:00", caller="5145550124"))
    first, second = await cases(store)
    await store.note_case(first["id"], "514 555 0123 son cell", "desk", local("2026-11-23 10:05"))
    await purge_number(store, CALLER, local("2026-11-23 11:00"))
    await close(store, second["id"], "spam", "", "desk", local("2026-11-23 11:00"))
    await apply_retention(store, 90, local("2027-03-01 12:00"))
    found = await cases(store)
    assert [(c["caller_e164"], c["note"], c["resolution"]) for c in found] == [
        (None, None, "not_needed"),
        (None, None, "spam"),
    ]
    assert found[1]["opened_at"] == second["opened_at"]
    details = [r[0] for r in await store.fetchall("SELECT detail FROM case_actions")]
    assert not any("0123" in d for d in details)
