"""Scenarios the recordings lack, scripted with the recorded event grammar and fed
to the pure tracker (no event loop)."""

from __future__ import annotations

from agent.model import CallRecord, Counters, Direction, Evidence, Outcome
from drivers.sources.asterisk.badinput import BadInput
from drivers.sources.asterisk.tracker import CallTracker
from tests.drivers.asterisk.conftest import make_config
from tests.drivers.asterisk.pbx import Chan, Pbx

CALLER = "5145550100"
DID = "5555550101"


def run(tracker: CallTracker, pbx: Pbx) -> list[CallRecord]:
    out: list[CallRecord] = []
    for frame in pbx.frames:
        out += tracker.feed(frame, float(frame["Timestamp"]))
    return out


def ring_group(pbx: Pbx, caller: Chan, *exts: str) -> list[Chan]:
    pbx.exten(caller, "ext-group", "600", "Dial", "PJSIP/101&PJSIP/102,20")
    return [pbx.phone_leg(caller, ext) for ext in exts]


def test_blind_transfer_chain_stays_one_answered_call(tracker: CallTracker) -> None:
    """101 answers, blind-transfers to 102, who transfers to 103: one record, answered
    by the first, every extension that rang listed in order."""
    pbx = Pbx()
    caller = pbx.inbound(CALLER, DID)
    (leg101,) = ring_group(pbx, caller, "101")
    pbx.tick(3)
    pbx.dial_end(caller, leg101, "ANSWER")
    pbx.bridge("b1", leg101, caller)
    pbx.tick(20)
    for old, ext in ((leg101, "102"), (None, "103")):
        pbx.emit("BlindTransfer", None, Result="Success")
        if old is not None:
            pbx.unbridge("b1", old, caller)
            pbx.hangup(old)
        prev = [c for c in pbx.frames if c.get("Event") == "Newchannel"][-1]
        leg = pbx.phone_leg(caller, ext)
        pbx.tick(4)
        pbx.dial_end(caller, leg, "ANSWER")
        pbx.bridge(f"b{ext}", leg, caller)
        pbx.tick(10)
        if ext == "102":
            pbx.unbridge("b102", leg, caller)
            pbx.hangup(leg)
        assert prev
    pbx.hangup(caller, request=True)
    for chan_frame in [f for f in pbx.frames if f["Event"] == "Newchannel"][1:]:
        uid = chan_frame["Uniqueid"]
        if not any(f["Event"] == "Hangup" and f["Uniqueid"] == uid for f in pbx.frames):
            pbx.emit(
                "Hangup", None, **{k: chan_frame[k] for k in ("Channel", "Uniqueid", "Linkedid")}
            )
    records = run(tracker, pbx)
    assert len(records) == 1
    record = records[0]
    assert record.outcome is Outcome.ANSWERED
    assert record.answered_by == "101"
    assert record.extensions == ("600", "101", "102", "103")
    assert record.talk_seconds > 40


def test_call_pickup_counts_as_answered(tracker: CallTracker, counters: Counters) -> None:
    """102 picks up 101's ringing call with *8: the picker's channel is moved to the
    caller's Linkedid and bridged; the call is answered by 102 and the pickup's own
    Linkedid produces no second record."""
    pbx = Pbx()
    caller = pbx.inbound(CALLER, DID)
    pbx.exten(caller, "from-pstn", DID, "Dial", "PJSIP/101,20")
    leg101 = pbx.phone_leg(caller, "101")
    pbx.tick(4)
    picker = pbx.channel("PJSIP/102", num="102", context="from-internal", exten="*8", state="Ring")
    pbx.exten(picker, "app-pickup", "*8", "Pickup", "101@PICKUPMARK")
    pbx.emit("Pickup", picker, TargetChannel=leg101.name, TargetLinkedid=caller.linkedid)
    pbx.dial_end(caller, leg101, "CANCEL")
    pbx.hangup(leg101, cause="26")
    picker.linkedid = caller.linkedid  # Asterisk propagates the oldest Linkedid on bridging
    pbx.bridge("bp", caller, picker)
    pbx.tick(30)
    pbx.unbridge("bp", caller, picker)
    pbx.hangup(picker, request=True)
    pbx.hangup(caller)
    records = run(tracker, pbx)
    assert [(r.call_id, r.outcome, r.answered_by) for r in records] == [
        (caller.linkedid, Outcome.ANSWERED, "102")
    ]
    assert counters.get("calls_merged") == 1


def test_follow_me_to_cell_phone_answered(tracker: CallTracker) -> None:
    """Follow-me rings the desk phone through a Local channel, then the cell phone on
    the trunk; the cell answers: answered, by the cell number, call still inbound."""
    pbx = Pbx()
    caller = pbx.inbound(CALLER, DID)
    local1 = pbx.channel("Local/FM101@ext-findmefollow", linked=caller)
    local2 = pbx.channel("Local/FM101@ext-findmefollow", linked=caller, state="Ring")
    pbx.dial(caller, local1, "FM101@ext-findmefollow")
    desk = pbx.phone_leg(local2, "101")
    pbx.tick(15)
    pbx.dial_end(local2, desk, "NOANSWER")
    pbx.hangup(desk)
    cell = pbx.channel("PJSIP/pstn", linked=caller, num="5555550100")
    pbx.dial(local2, cell, "pstn/+15145559876")
    pbx.tick(6)
    pbx.dial_end(local2, cell, "ANSWER")
    pbx.dial_end(caller, local1, "ANSWER")
    pbx.bridge("bl", caller, local1)
    pbx.bridge("bc", local2, cell)
    pbx.tick(60)
    for chan in (cell, local2, local1, caller):
        pbx.hangup(chan)
    (record,) = run(tracker, pbx)
    assert record.direction is Direction.INBOUND
    assert record.outcome is Outcome.ANSWERED
    assert record.answered_by == "+15145559876"
    assert record.extensions == ("101",)
    assert record.ring_seconds == 21.0


def test_two_calls_from_one_number_at_once(tracker: CallTracker) -> None:
    """The same number calls twice at once (two lines): two independent records, one
    answered, one missed."""
    pbx = Pbx()
    first = pbx.inbound(CALLER, DID)
    second = pbx.inbound(CALLER, DID)
    leg_a = pbx.phone_leg(first, "101")
    leg_b = pbx.phone_leg(second, "102")
    pbx.tick(5)
    pbx.dial_end(first, leg_a, "ANSWER")
    pbx.bridge("b", first, leg_a)
    pbx.tick(5)
    pbx.dial_end(second, leg_b, "CANCEL")
    pbx.hangup(second, cause="127", request=True)
    pbx.hangup(leg_b, cause="127")
    pbx.tick(20)
    pbx.hangup(leg_a, request=True)
    pbx.hangup(first)
    records = run(tracker, pbx)
    assert [(r.call_id, r.outcome) for r in records] == [
        (second.linkedid, Outcome.MISSED),
        (first.linkedid, Outcome.ANSWERED),
    ]


def ivr_call(pbx: Pbx, keys: str, seconds: float) -> Chan:
    caller = pbx.inbound(CALLER, "5555550100")
    pbx.exten(caller, "ivr-main", "s", "Answer")
    pbx.state(caller, "Up")
    pbx.exten(caller, "ivr-main", "s", "BackGround", "menu")
    for key in keys:
        pbx.tick(seconds / max(1, len(keys)))
        pbx.dtmf(caller, key)
        pbx.exten(caller, "ivr-main", key, "Goto", "ivr-sub,s,1")
        pbx.exten(caller, "ivr-sub", "s", "BackGround", "submenu")
    if not keys:
        pbx.tick(seconds)
    return caller


def test_ivr_keys_and_abandon(tracker: CallTracker) -> None:
    """Keys pressed in the menu make `ivr_path`; leaving the menu is abandoned_ivr with
    the time spent in it."""
    pbx = Pbx()
    caller = ivr_call(pbx, "1*3", 9)
    pbx.hangup(caller, cause="0", request=True)
    (record,) = run(tracker, pbx)
    assert record.outcome is Outcome.ABANDONED_IVR
    assert record.ivr_path == "1*3"
    assert record.ivr_seconds == 9.0


def test_short_abandon_and_pbx_hangup(tracker: CallTracker) -> None:
    """A caller gone within short_abandon_seconds is short_abandon; a menu the PBX
    ends itself (no HangupRequest) after the same time is not."""
    pbx = Pbx()
    quick = ivr_call(pbx, "", 2)
    pbx.hangup(quick, cause="0", request=True)
    pbx_ended = ivr_call(pbx, "", 2)
    pbx.hangup(pbx_ended, cause="16")
    records = run(tracker, pbx)
    assert [r.outcome for r in records] == [Outcome.SHORT_ABANDON, Outcome.ABANDONED_IVR]


def test_queue_timeout_then_voicemail(tracker: CallTracker) -> None:
    """A queue timeout also emits QueueCallerAbandon; the call goes on to voicemail,
    which is the outcome (not abandoned_queue)."""
    pbx = Pbx()
    caller = pbx.inbound(CALLER, "5555550102")
    pbx.exten(caller, "dept-service", "s", "Queue", "service,t,,,40")
    pbx.emit("QueueCallerJoin", caller, Queue="service", Position="1", Count="1")
    pbx.tick(40)
    pbx.emit("QueueCallerAbandon", caller, Queue="service", Position="1")
    pbx.emit("QueueCallerLeave", caller, Queue="service", Position="1")
    pbx.exten(caller, "dept-service", "s", "VoiceMail", "1002@dealer,u")
    pbx.tick(15)
    pbx.hangup(caller, cause="0", request=True)
    (record,) = run(tracker, pbx)
    assert record.outcome is Outcome.VOICEMAIL
    assert (record.queue, record.queue_seconds) == ("service", 40.0)


def test_outbound_call_direction(tracker: CallTracker) -> None:
    """A desk phone calling a customer through the trunk is outbound, dialled = the
    customer, even though the trunk leg sits in an inbound-looking context."""
    pbx = Pbx()
    phone = pbx.channel("PJSIP/101", num="101", exten="15145550100", state="Ring")
    pbx.exten(phone, "outbound-allroutes", "15145550100", "Dial", "PJSIP/pstn/15145550100")
    trunk = pbx.channel("PJSIP/pstn", linked=phone, num="5555550100", context="from-pstn")
    pbx.dial(phone, trunk, "pstn/15145550100")
    pbx.tick(5)
    pbx.dial_end(phone, trunk, "ANSWER")
    pbx.bridge("b", phone, trunk)
    pbx.tick(30)
    pbx.hangup(trunk)
    pbx.hangup(phone)
    (record,) = run(tracker, pbx)
    assert (record.direction, record.outcome) == (Direction.OUTBOUND, Outcome.ANSWERED)
    assert record.dialed == "15145550100"
    assert record.extensions == ()


def test_bad_events_are_counted_and_harmless(tracker: CallTracker, counters: Counters) -> None:
    """Unknown events, missing fields, an unknown Linkedid and a Hangup without
    Newchannel, interleaved with a real call, are counted by kind and the real call is
    still judged right."""
    pbx = Pbx()
    caller = pbx.inbound(CALLER, DID)
    leg = pbx.phone_leg(caller, "101")
    pbx.emit("MadeUpEvent", caller)
    pbx.emit("DialBegin", None)
    pbx.emit("Hangup", None, Channel="PJSIP/999-1", Uniqueid="9.9", Linkedid=caller.linkedid)
    pbx.emit("Newexten", None, Channel="PJSIP/998-1", Uniqueid="8.8", Linkedid="8.8")
    pbx.emit("Newchannel", None, Channel="PJSIP/997-1")
    pbx.emit("Hangup", caller, Timestamp="not-a-number")
    pbx.frames[-1]["Timestamp"] = str(pbx.t)
    pbx.frames.pop()
    pbx.tick(10)
    pbx.dial_end(caller, leg, "CANCEL")
    pbx.hangup(leg, cause="127")
    pbx.hangup(caller, cause="127", request=True)
    (record,) = run(tracker, pbx)
    assert record.outcome is Outcome.MISSED
    snap = counters.snapshot()
    assert snap["events_ignored"] == 1
    assert snap["event_missing_fields"] == 2
    assert snap["unknown_channel"] == 1
    assert snap["unknown_linkedid"] == 1


def test_eviction_keeps_memory_flat(tracker: CallTracker, counters: Counters) -> None:
    """A call whose hang-up never comes is evicted after the idle timeout, recorded
    as unknown (never guessed), and forgotten."""
    pbx = Pbx()
    caller = pbx.inbound(CALLER, DID)
    pbx.phone_leg(caller, "101")
    run(tracker, pbx)
    assert tracker.calls_in_progress == 1
    assert tracker.evict(pbx.t + 60) == []
    (record,) = tracker.evict(pbx.t + 14401)
    assert record.outcome is Outcome.UNKNOWN
    assert tracker.calls_in_progress == 0
    assert not tracker._index and not tracker.bridges
    assert counters.get("calls_evicted") == 1


def test_resync_learns_calls_in_progress(tracker: CallTracker) -> None:
    """Calls already in progress when ringback connects are adopted from
    CoreShowChannels: one whose caller waits in Dial while a phone rings ends missed
    when the caller hangs up, one already bridged to a phone is answered; both say
    `evidence: partial`, and the start comes from the channel's Duration."""
    ringing = [
        {
            "Channel": "PJSIP/pstn-1",
            "Uniqueid": "1.1",
            "Linkedid": "1.1",
            "Context": "dept-sales",
            "Exten": "s",
            "CallerIDNum": CALLER,
            "Application": "Dial",
            "Duration": "00:00:07",
        },
        {
            "Channel": "PJSIP/101-2",
            "Uniqueid": "1.2",
            "Linkedid": "1.1",
            "Context": "from-internal",
            "ChannelStateDesc": "Ringing",
        },
    ]
    talking = [
        {
            "Channel": "PJSIP/pstn-3",
            "Uniqueid": "2.1",
            "Linkedid": "2.1",
            "Context": "from-pstn",
            "Exten": DID,
            "CallerIDNum": CALLER,
            "BridgeId": "br",
        },
        {"Channel": "PJSIP/102-4", "Uniqueid": "2.2", "Linkedid": "2.1", "BridgeId": "br"},
    ]
    assert tracker.resync(ringing + talking, 1000.0) == []
    assert tracker.calls_in_progress == 2
    out: list[CallRecord] = []
    for uid, lid, chan in (
        ("1.2", "1.1", "PJSIP/101-2"),
        ("1.1", "1.1", "PJSIP/pstn-1"),
        ("2.2", "2.1", "PJSIP/102-4"),
        ("2.1", "2.1", "PJSIP/pstn-3"),
    ):
        frame = {"Event": "Hangup", "Uniqueid": uid, "Linkedid": lid, "Channel": chan}
        out += tracker.feed(frame, 1010.0)
    assert [(r.call_id, r.outcome, r.answered_by, r.evidence) for r in out] == [
        ("1.1", Outcome.MISSED, None, Evidence.PARTIAL),
        ("2.1", Outcome.ANSWERED, "102", Evidence.PARTIAL),
    ]
    assert out[0].started_at.timestamp() == 993.0
    assert out[0].extensions == ("101",)


def test_link_loss_ends_vanished_calls_as_unknown(tracker: CallTracker) -> None:
    """After a disconnect, a call whose channels are gone from the new snapshot
    (Asterisk restarted) ended unseen and is recorded as unknown; one still up goes
    on and ends with the verdict its remaining events give (missed), as partial."""
    pbx = Pbx()
    gone = pbx.inbound(CALLER, DID)
    pbx.phone_leg(gone, "101")
    alive = pbx.inbound("4185550100", DID)
    alive_leg = pbx.phone_leg(alive, "102")
    run(tracker, pbx)
    tracker.connection_lost()
    still = [
        {"Channel": c.name, "Uniqueid": c.uid, "Linkedid": c.linkedid} for c in (alive, alive_leg)
    ]
    (record,) = tracker.resync(still, pbx.t + 5)
    assert (record.call_id, record.outcome) == (gone.linkedid, Outcome.UNKNOWN)
    pbx.frames.clear()
    pbx.tick(30)
    pbx.hangup(alive_leg, cause="127")
    pbx.hangup(alive, cause="127", request=True)
    (late,) = run(tracker, pbx)
    assert (late.outcome, late.evidence) == (Outcome.MISSED, Evidence.PARTIAL)
    assert record.evidence is Evidence.PARTIAL


def test_calls_ringing_the_same_group_share_their_tuples(tracker: CallTracker) -> None:
    """Pins the memory of calls in progress: two calls ringing 101 and 102 hold one
    extensions tuple between them, and each call's phones dialed are its phones
    ringing (one tuple) until one stops; the records still list the group and both extensions."""
    pbx = Pbx()
    first, second = pbx.inbound(CALLER, DID), pbx.inbound("5145550199", DID)
    legs = [ring_group(pbx, caller, "101", "102") for caller in (first, second)]
    run(tracker, pbx)
    one, two = tracker.calls[first.linkedid], tracker.calls[second.linkedid]
    assert one.extensions == ("600", "101", "102")
    assert one.extensions is two.extensions
    assert one.dialed_legs is one.ringing
    assert one.ringing == (legs[0][0].uid, legs[0][1].uid)
    pbx.frames.clear()
    pbx.tick(5)
    pbx.dial_end(first, legs[0][0], "BUSY")
    run(tracker, pbx)
    assert list(one.ringing) == [legs[0][1].uid]  # (a list: mypy narrowed the tuple)
    assert one.dialed_legs == (legs[0][0].uid, legs[0][1].uid)
    pbx.frames.clear()
    for caller, (a, b) in zip((first, second), legs, strict=True):
        pbx.hangup(caller, request=True)
        pbx.hangup(a)
        pbx.hangup(b)
    records = run(tracker, pbx)
    missed = (Outcome.MISSED, ("600", "101", "102"))
    assert [(r.outcome, r.extensions) for r in records] == [missed, missed]


def test_trunk_channel_ringing_in_a_snapshot_makes_the_call_outbound(counters: Counters) -> None:
    """Pins the trunk test of a channel first seen ringing in a snapshot (its DialBegin
    lost with the link): a phone's call whose trunk channel rings is outbound, read
    from the snapshot entry's `Channel` (the tracker keeps no channel names)."""
    tracker = CallTracker(make_config(trunks=["pstn"]), counters, BadInput(counters, "pbx"))
    pbx = Pbx()
    phone = pbx.channel("PJSIP/101", num="101")
    trunk = pbx.channel("PJSIP/pstn", linked=phone)
    run(tracker, pbx)
    assert tracker.calls[phone.linkedid].direction is Direction.INTERNAL
    tracker.connection_lost()
    entries = [
        {
            "Event": "CoreShowChannel",
            "Channel": chan.name,
            "Uniqueid": chan.uid,
            "Linkedid": chan.linkedid,
            "ChannelStateDesc": state,
            "Context": "from-internal",
            "Exten": "s",
            "Application": app,
        }
        for chan, state, app in ((phone, "Up", "Dial"), (trunk, "Ringing", "AppDial"))
    ]
    assert tracker.resync(entries, pbx.t) == []
    call = tracker.calls[phone.linkedid]
    assert call.direction is Direction.OUTBOUND
    assert call.dialed_legs == (trunk.uid,)
    assert call.extensions == ()
