"""Delivery states and number facts (issue 17): the policy's rules on them, the store's
forward-only delivery state with its history, the facts and what they change, the
inbound dedup and the senders' marks, and the core's hand-over of reports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agent.config.settings import Settings
from agent.decide.policy import decide, schedule_for
from agent.model import (
    Counters,
    Defer,
    Delivery,
    DeliveryReport,
    MessageState,
    Notify,
    NumberFact,
    Rejected,
    Resolution,
    Sent,
    Skip,
)
from agent.send.deliveries import Deliveries
from agent.store import Store
from agent.store.cases import Miss
from agent.store.deliveries import Applied
from tests.agent.conftest import TZ, call, local
from tests.agent.test_policy import facts_for

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
TO = "+15145550123"
SID = "SM" + "12" * 16


# --- the policy ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        ({"sms_incapable": True}, Skip("sms_incapable")),
        ({"unreachable_until": local("2026-11-23 10:30")}, Defer),
        ({"unreachable_until": local("2026-11-23 23:00")}, Skip("unreachable")),
        ({"unreachable_until": local("2026-11-23 09:00")}, Notify),  # past: texted
        ({}, Notify),
    ],
    ids=["incapable", "unreachable-soon", "unreachable-past-max-age", "was-unreachable", "none"],
)
def test_policy_on_number_facts(settings: Settings, facts: dict[str, Any], expected: Any) -> None:
    """Pins skip:sms_incapable, a text deferred until an unreachable number may be
    back (skip:unreachable when that is past the text's max age), and a stale
    unreachable fact ignored."""
    record = call("2026-11-23 09:58")
    now = local("2026-11-23 10:00")
    schedule = schedule_for("service", settings, now.astimezone(TZ), set())
    decision = decide(record, facts_for(settings, record.remote_raw, **facts), schedule,
                      settings, now)  # fmt: skip
    if isinstance(expected, Skip):
        assert decision == expected
    else:
        assert type(decision) is expected
    if expected is Defer:
        assert isinstance(decision, Defer) and decision.until == facts["unreachable_until"]


# --- the store -----------------------------------------------------------------------


async def _sent(store: Store, to: str = TO, sid: str = SID, key: str = "k1") -> int:
    message_id = await store.enqueue(
        call_id=None, to_e164=to, department="service", template="open", language="fr",
        dedup_key=key, not_before=NOW, expires_at=NOW + timedelta(hours=4), now=NOW,
    )  # fmt: skip
    assert message_id is not None
    await store.finish(
        message_id, state=MessageState.SENT, sender="twilio", started_at=NOW, now=NOW,
        result="sent", provider_id=sid,
    )  # fmt: skip
    return message_id


def _report(state: Delivery, code: str | None = None, sid: str = SID) -> DeliveryReport:
    return DeliveryReport("twilio", sid, state, NOW, code)


async def test_delivery_state_only_moves_forward(store: Store) -> None:
    """Pins the order-independence: delivered, then a late `sent`, then `queued`, then
    the same `delivered` again: the state stays delivered, the late ones are kept in
    the history as not applied, the replay is not kept at all."""
    message_id = await _sent(store)
    results = [
        await store.apply_delivery(_report(state), NOW)
        for state in (Delivery.SENT, Delivery.DELIVERED, Delivery.SENT, Delivery.QUEUED)
    ]
    replay = await store.apply_delivery(_report(Delivery.DELIVERED), NOW)
    assert [r.applied for r in results] == [
        Applied.MOVED, Applied.MOVED, Applied.REPLAY, Applied.STALE
    ]  # fmt: skip
    assert replay.applied is Applied.REPLAY
    row = await store.fetchone("SELECT delivery FROM messages WHERE id = ?", (message_id,))
    assert row == ("delivered",)
    history = await store.delivery_history(message_id)
    assert [(s, applied) for s, _, _, applied in history] == [
        ("sent", True), ("delivered", True), ("queued", False)
    ]  # fmt: skip


async def test_final_failure_keeps_its_code_and_no_later_state_undoes_it(store: Store) -> None:
    """Pins undelivered 30006 as final: a `delivered` arriving after it is stale."""
    message_id = await _sent(store)
    await store.apply_delivery(_report(Delivery.UNDELIVERED, "30006"), NOW)
    late = await store.apply_delivery(_report(Delivery.DELIVERED), NOW)
    assert late.applied is Applied.STALE
    row = await store.fetchone(
        "SELECT delivery, delivery_code FROM messages WHERE id = ?", (message_id,)
    )
    assert row == ("undelivered", "30006")


async def test_report_for_a_sid_we_never_sent_is_kept_apart(store: Store) -> None:
    """Pins an unknown SID: kept with no message, no message changed."""
    await _sent(store)
    result = await store.apply_delivery(_report(Delivery.DELIVERED, sid="SM" + "9" * 32), NOW)
    assert result.applied is Applied.UNKNOWN
    assert await store.fetchone("SELECT delivery FROM messages") == (None,)
    assert await store.scalar("SELECT COUNT(*) FROM deliveries WHERE message_id IS NULL") == 1


async def test_sms_incapable_withdraws_texts_and_makes_cases_callback_only(store: Store) -> None:
    """Pins the fact's effects: the waiting text to the number is withdrawn, its open
    case becomes callback-only, and a case opened later for it is callback-only from
    the start; the policy reads the fact."""
    waiting = await store.enqueue(
        call_id=None, to_e164=TO, department="service", template="open", language="fr",
        dedup_key="w", not_before=NOW, expires_at=NOW + timedelta(hours=1), now=NOW,
    )  # fmt: skip
    record = call("2026-11-23 09:58", caller="5145550123")
    call_id, _ = await store.insert_call(record, TO, NOW)
    miss = Miss(call_id, TO, "5145550123", "service", NOW, None, NOW)
    case_id, _ = await store.open_or_join_case(miss, NOW)
    news = await store.set_number_fact(
        TO, NumberFact.SMS_INCAPABLE, origin="twilio", now=NOW, code="30006"
    )
    again = await store.set_number_fact(TO, NumberFact.SMS_INCAPABLE, origin="twilio", now=NOW)
    assert (news, again) == (True, False)
    assert await store.scalar("SELECT state FROM messages WHERE id = ?", (waiting,)) == (
        "suppressed"
    )
    assert await store.scalar("SELECT callback_only FROM cases WHERE id = ?", (case_id,)) == 1
    await store.close_case(case_id, Resolution.NOT_NEEDED, "", "anna", NOW)
    later, _ = await store.open_or_join_case(miss, NOW)
    assert later != case_id
    assert await store.scalar("SELECT callback_only FROM cases WHERE id = ?", (later,)) == 1
    facts = await store.number_facts(TO, NOW, NOW, NOW)
    assert facts[4] is True
    assert await store.texting_facts("+15145550999") == (False, None)


async def test_inbound_seen_once_and_marks_survive(store: Store) -> None:
    """Pins the dedup of received texts by (sender, provider id) and the marks."""
    assert await store.first_inbound("twilio", SID, NOW) is True
    assert await store.first_inbound("twilio", SID, NOW) is False
    assert await store.first_inbound("modem", SID, NOW) is True
    assert await store.load_mark("twilio", "poll") is None
    await store.save_mark("twilio", "poll", "a", NOW)
    await store.save_mark("twilio", "poll", "b", NOW)
    assert await store.load_mark("twilio", "poll") == "b"


# --- the core's hand-over ------------------------------------------------------------


async def test_deliveries_apply_facts_and_count(store: Store) -> None:
    """Pins `Deliveries.on_delivery`: a final 30006 makes the number sms_incapable, a
    30003 unreachable for hours (cleared by a later delivery), a replay and an
    unknown SID are counted; nothing raises."""
    counters = Counters()
    keeper = Deliveries(store, counters, lambda: NOW)
    await _sent(store)
    other = "+15145550124"
    await _sent(store, other, "SM" + "34" * 16, "k2")
    await keeper.on_delivery(DeliveryReport("twilio", SID, Delivery.UNDELIVERED, NOW, "30006",
                                            NumberFact.SMS_INCAPABLE))  # fmt: skip
    await keeper.on_delivery(DeliveryReport("twilio", SID, Delivery.UNDELIVERED, NOW, "30006",
                                            NumberFact.SMS_INCAPABLE))  # fmt: skip
    unreachable = DeliveryReport(
        "twilio", "SM" + "34" * 16, Delivery.UNDELIVERED, NOW, "30003", NumberFact.UNREACHABLE
    )
    await keeper.on_delivery(unreachable)
    assert (await store.texting_facts(other))[1] is not None
    await keeper.on_delivery(_report(Delivery.SENT, sid="SM" + "9" * 32))
    assert (await store.texting_facts(TO))[0] is True
    snapshot = counters.snapshot()
    assert snapshot["deliveries_moved"] == 2
    assert snapshot["deliveries_replay"] == 1
    assert snapshot["deliveries_unknown"] == 1
    assert snapshot["number_fact_sms_incapable"] == 1
    await store.clear_number_fact(other, NumberFact.UNREACHABLE)
    assert await store.texting_facts(other) == (False, None)


async def test_doctor_names_setup_faults_with_their_fix(store: Store) -> None:
    """Pins `ringback doctor`'s finding for 21408 (a configuration error, broken) and
    30034 (filtering, a warning), each with the fix the sender gave; none is ok."""
    from agent.ops.doctor_facts import sending_faults
    from drivers.senders.twilio_codes import FIX_21408, FIX_30034

    assert [f.level for f in sending_faults(store.path)] == ["ok"]
    now = datetime.now(UTC)
    await store.set_number_fact(TO, NumberFact.MISCONFIGURED, origin="twilio", now=now,
                                code="21408", detail=FIX_21408)  # fmt: skip
    await store.set_number_fact(TO, NumberFact.FILTERED, origin="twilio", now=now,
                                code="30034", detail=FIX_30034)  # fmt: skip
    found = {f.name: f for f in sending_faults(store.path)}
    assert found["sending configuration"].level == "fail"
    assert "21408" in found["sending configuration"].message
    assert "Geo permissions" in found["sending configuration"].hint
    assert found["carrier filtering"].level == "warn"
    assert found["carrier filtering"].hint == FIX_30034


# --- the dispatcher: a refusal's fact, and facts re-checked before a text leaves -------


async def test_refusal_fact_applies_to_the_next_call(settings: Settings, store: Store) -> None:
    """Pins `Rejected.fact` (Twilio 30006 at create): the number becomes sms_incapable,
    the caller's next missed call is `skip:sms_incapable`, and no second text leaves."""
    from tests.agent.test_dispatcher import Rig, ScriptedPeer

    refusal = Rejected("twilio 30006: landline", fact=NumberFact.SMS_INCAPABLE)
    peer = ScriptedPeer("peer", refusal)
    rig = Rig(settings, store, peer, "2026-11-23 10:05")
    await rig.pipeline.accept(call("2026-11-23 10:00"))
    await rig.dispatcher.run_once()
    assert (await store.texting_facts(TO))[0] is True
    rig.at("2026-11-24 10:05")
    await rig.pipeline.accept(call("2026-11-24 10:00"))
    decisions = await store.fetchall("SELECT decision FROM calls ORDER BY id")
    assert decisions == [("notify",), ("skip:sms_incapable",)]
    await rig.dispatcher.run_once()
    assert len(peer.texts) == 1
    assert rig.dispatcher.counters.get("number_fact_sms_incapable") == 1


async def test_unreachable_number_holds_a_waiting_text(settings: Settings, store: Store) -> None:
    """Pins the dispatcher's re-check: a text queued before the number was reported
    unreachable waits until the fact's `until`, then leaves."""
    from tests.agent.test_dispatcher import Rig, ScriptedPeer

    peer = ScriptedPeer("peer", Sent("p-1"))
    rig = Rig(settings, store, peer, "2026-11-23 10:00")
    await rig.pipeline.accept(call("2026-11-23 10:00"))
    until = local("2026-11-23 10:20")
    await store.set_number_fact(TO, NumberFact.UNREACHABLE, origin="twilio", now=rig.clock(),
                                until=until)  # fmt: skip
    rig.at("2026-11-23 10:05")
    await rig.dispatcher.run_once()
    assert peer.texts == []
    state = await store.fetchone("SELECT state, not_before FROM messages")
    assert state[0] == "pending" and datetime.fromisoformat(state[1]) == until
    rig.at("2026-11-23 10:21")
    await rig.dispatcher.run_once()
    assert len(peer.texts) == 1


async def test_erasure_and_retention_forget_the_facts(store: Store) -> None:
    """Pins privacy: `purge --number` erases the number's facts (its opt-out stays as
    a hash, so it is still not texted); retention deletes facts, delivery reports and
    received ids older than `retention_days`."""
    from agent.store.retention import apply_retention, purge_number

    await store.set_number_fact(TO, NumberFact.SMS_INCAPABLE, origin="twilio", now=NOW)
    other = "+15145550124"
    await store.set_number_fact(other, NumberFact.SMS_INCAPABLE, origin="twilio", now=NOW)
    await _sent(store)
    await store.apply_delivery(_report(Delivery.DELIVERED), NOW)
    await store.first_inbound("twilio", SID, NOW)
    await purge_number(store, TO, NOW)
    assert await store.texting_facts(TO) == (False, None)
    assert await store.is_opted_out(TO)
    assert (await store.texting_facts(other))[0] is True
    await apply_retention(store, 90, NOW + timedelta(days=91))
    for table in ("number_facts", "deliveries", "inbound_seen"):
        assert await store.scalar(f"SELECT COUNT(*) FROM {table}") == 0, table
