"""Adoption of calls in progress: every recorded stream (the fixtures and the demo's
bundled ones) cut at event positions, the link dropped, the snapshot Asterisk would
give at that point (`live_channels`), then the rest of the stream. The verdicts must
be those of the uncut stream; the cut calls say `evidence: partial`.

Two ways in: the same tracker losing its link (reconnect) and a fresh tracker that
never saw the beginning (ringback starting while calls ring). Without the resync the
reconnect case records those calls as unknown and the fresh one records nothing:
these tests fail when adoption is switched off.
"""

from __future__ import annotations

import pytest

from agent.model import CallRecord, Counters, Direction, Evidence, Outcome
from drivers.sources.asterisk.badinput import BadInput
from drivers.sources.asterisk.frames import Frame, parse_frame
from drivers.sources.asterisk.tracker import CallTracker
from tests.drivers.asterisk.conftest import AMI, make_config
from tests.drivers.asterisk.pbx import Pbx
from tests.peers.ami_server import demo_streams, live_channels, split_frames

SEP = b"\r\n\r\n"


def _streams() -> dict[str, bytes]:
    streams = {p.stem: p.read_bytes() for p in sorted(AMI.glob("*.ami"))}
    for name, data in demo_streams().items():
        if data not in streams.values():
            streams[f"demo:{name}"] = data
    return streams


STREAMS = _streams()


def _tracker() -> CallTracker:
    counters = Counters()
    return CallTracker(make_config(), counters, BadInput(counters, "pbx"))


def _frames(data: bytes) -> list[Frame]:
    return [parse_frame(raw, lambda kind, detail: None) for raw in split_frames(data)]


def _feed(tracker: CallTracker, frames: list[Frame]) -> list[CallRecord]:
    out: list[CallRecord] = []
    for frame in frames:
        at = float(frame.get("Timestamp") or 0.0)
        out += tracker.feed(frame, at)
    return out


def _verdicts(records: list[CallRecord]) -> dict[str, tuple[Direction, Outcome]]:
    return {r.call_id: (r.direction, r.outcome) for r in records}


def _cuts(raw: list[bytes], frames: list[Frame]) -> list[int]:
    """Positions where at least one call's caller is still up: after each event the
    tracker reads (every one, so ringing, menus, queues and bridges are all cut)."""
    wanted = {"Newexten", "Newstate", "DialBegin", "DialEnd", "BridgeEnter", "HangupRequest"}
    wanted |= {"QueueCallerJoin", "AgentConnect", "DTMFEnd", "Hangup"}
    cuts = []
    for i, frame in enumerate(frames[:-1]):
        if frame.get("Event") in wanted:
            prefix = SEP.join(raw[: i + 1]) + SEP
            if any(c["Uniqueid"] == c["Linkedid"] for c in live_channels(prefix)):
                cuts.append(i + 1)
    return cuts


def _now(frames: list[Frame]) -> float:
    return max(float(f.get("Timestamp") or 0.0) for f in frames)


@pytest.mark.parametrize("name", sorted(STREAMS))
def test_reconnect_at_every_event_keeps_the_true_verdict(name: str) -> None:
    """The link drops after any event of the stream and comes back: the calls in
    progress are reconciled with the snapshot and end with the uncut verdicts,
    stated partial."""
    data = STREAMS[name]
    raw, frames = split_frames(data), _frames(data)
    truth = _verdicts(_feed(_tracker(), frames))
    cuts = _cuts(raw, frames)
    assert len(cuts) >= 3
    for cut in cuts:
        tracker = _tracker()
        records = _feed(tracker, frames[:cut])
        tracker.connection_lost()
        snapshot = live_channels(SEP.join(raw[:cut]) + SEP)
        records += tracker.resync(snapshot, _now(frames[:cut]))
        after = _feed(tracker, frames[cut:])
        assert _verdicts(records + after) == truth, f"{name} cut after event {cut}"
        assert {r.evidence for r in after} <= {Evidence.PARTIAL}
        assert tracker.calls_in_progress == 0


SETTLING_APPS = frozenset({"Queue", "VoiceMail", "BackGround", "WaitExten", "Busy"})


def _settled(snapshot: list[dict[str, str]], linkedid: str) -> bool:
    """Whether the snapshot itself tells where the call stands: a phone rings for
    it, its caller is bridged, or the caller's channel runs a queue, a menu, a
    voicemail or a busy signal. Otherwise the events that settled it came before
    ringback connected and `unknown` is the honest verdict."""
    chans = [c for c in snapshot if c["Linkedid"] == linkedid]
    origin = next(c for c in chans if c["Uniqueid"] == linkedid)
    ringing = any(
        c["ChannelStateDesc"] == "Ringing" and not c["Channel"].startswith("Local/")
        for c in chans
        if c is not origin
    )
    return ringing or bool(origin["BridgeId"]) or origin["Application"] in SETTLING_APPS


@pytest.mark.parametrize("name", sorted(STREAMS))
def test_adoption_on_start_at_every_event_gives_the_true_verdict(name: str) -> None:
    """ringback starts while the call is in progress (a fresh tracker, only the
    snapshot and the rest of the stream): the adopted call ends with the verdict of
    the uncut stream, partial, whenever the snapshot and the remaining events settle
    it; when they cannot (the phones had stopped ringing before), it is `unknown`,
    never a wrong verdict. Its start comes from the channel's Duration."""
    settled_cuts = 0
    data = STREAMS[name]
    raw, frames = split_frames(data), _frames(data)
    truth = {r.call_id: r for r in _feed(_tracker(), frames)}
    for cut in _cuts(raw, frames):
        tracker = _tracker()
        snapshot = live_channels(SEP.join(raw[:cut]) + SEP)
        adopted = {c["Linkedid"] for c in snapshot if c["Uniqueid"] == c["Linkedid"]}
        records = tracker.resync(snapshot, _now(frames[:cut]))
        records += _feed(tracker, frames[cut:])
        got = {r.call_id: r for r in records if r.call_id in adopted}
        assert set(got) == adopted & set(truth), f"{name} cut after event {cut}"
        for call_id, record in got.items():
            true = truth[call_id]
            where = f"{name} cut after event {cut}"
            assert record.direction == true.direction, where
            if _settled(snapshot, call_id):
                settled_cuts += 1
                assert record.outcome == true.outcome, where
            else:
                assert record.outcome in (true.outcome, Outcome.UNKNOWN), where
            assert record.caller_raw == true.caller_raw, where
            assert record.evidence is Evidence.PARTIAL, where
            assert abs((record.started_at - true.started_at).total_seconds()) < 1.0, where
    assert settled_cuts >= 2


def test_busy_cause_copied_from_one_leg_is_missed() -> None:
    """Three phones of a ring group: 101 answers busy, 102 and 103 ring, the caller
    hangs up; Asterisk copies cause 17 to the caller's Hangup. A phone rang and
    nobody answered: missed, not busy."""
    pbx = Pbx()
    caller = pbx.inbound("5145550100", "5555550101")
    pbx.exten(caller, "ext-group", "600", "Dial", "PJSIP/101&PJSIP/102&PJSIP/103,20")
    legs = [pbx.phone_leg(caller, ext) for ext in ("101", "102", "103")]
    pbx.dial_end(caller, legs[0], "BUSY")
    pbx.hangup(legs[0], cause="17")
    pbx.tick(12)
    for leg in legs[1:]:
        pbx.dial_end(caller, leg, "CANCEL")
        pbx.hangup(leg, cause="127")
    pbx.hangup(caller, cause="17", request=True)
    (record,) = _feed(_tracker(), pbx.frames)
    assert record.outcome is Outcome.MISSED


@pytest.mark.parametrize("tried", [("101", "102"), ()])
def test_busy_cause_is_busy_when_every_leg_tried_was_busy(tried: tuple[str, ...]) -> None:
    """Every phone tried answered busy (or none was tried and the caller's channel
    ends with cause 17): busy, without any Busy() application in the dialplan."""
    pbx = Pbx()
    caller = pbx.inbound("5145550100", "5555550101")
    pbx.exten(caller, "ext-group", "600", "Dial", "PJSIP/101&PJSIP/102,20")
    for ext in tried:
        leg = pbx.phone_leg(caller, ext)
        pbx.dial_end(caller, leg, "BUSY")
        pbx.hangup(leg, cause="17")
    pbx.tick(8)
    pbx.hangup(caller, cause="17")
    (record,) = _feed(_tracker(), pbx.frames)
    assert record.outcome is Outcome.BUSY
