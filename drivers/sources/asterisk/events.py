"""What each AMI event does to a call in progress. Pure, no I/O.

Every handler gets the event, the call and the channel (leg) it is about, and its
time. The set of handled event names, `WANTED`, is also what the connection asks
Asterisk for, so the two cannot drift apart.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from functools import partial
from typing import Protocol

from agent.model import Direction
from drivers.sources.asterisk.call import Call, Leg, extended
from drivers.sources.asterisk.dialplan import (
    Dialplan,
    clean_id,
    extension_of,
    interface_extension,
    is_local,
    number_in,
)
from drivers.sources.asterisk.frames import Frame, Report

Handler = Callable[[Frame, Call, Leg, float], None]


class CallTracker(Protocol):
    """What the handlers need of the tracker that binds them (`tracker.CallTracker`)."""

    dialplan: Dialplan
    report: Report

    def learn(self, frame: Frame, started_at: float, received_at: float) -> tuple[Call, Leg]: ...

    def enter_bridge(self, leg: Leg, bridge: str, at: float) -> None: ...

    def leave_bridge(self, leg: Leg) -> None: ...

    def remove_leg(self, call: Call, leg: Leg, at: float) -> None: ...


NON_NUMBERS = frozenset({"", "s", "h", "i", "t"})
BUSY_STATUSES = frozenset({"BUSY", "CONGESTION", "CHANUNAVAIL"})
BUSY_CAUSES = frozenset({"17", "34"})
BUSY_APPS = frozenset({"Busy", "Congestion"})
_KEYS_RE = re.compile(r"^[0-9*#]+$")
_DURATION_RE = re.compile(r"^(\d{1,4}):([0-5]\d):([0-5]\d)$", re.ASCII)  # bounded: <= 9999 h

# The events the tracker reads; the AMI Events/Filter request is built from it.
WANTED = frozenset(
    {
        "Newchannel",
        "Newexten",
        "Newstate",
        "NewCallerid",
        "DialBegin",
        "DialEnd",
        "BridgeEnter",
        "BridgeLeave",
        "HangupRequest",
        "Hangup",
        "QueueCallerJoin",
        "QueueCallerLeave",
        "QueueCallerAbandon",
        "AgentConnect",
        "DTMFEnd",
    }
)
# Event classes (manager.conf `read=`) that carry WANTED: the Login `Events:` value.
EVENT_CLASSES = "call,dialplan,agent,dtmf"


def clean_number(value: str | None) -> str:
    return clean_id(value) or ""


def clean_name(value: str | None) -> str | None:
    return clean_id(value)


def mark_answered(call: Call, by: str, at: float) -> None:
    call.answered_at = at
    call.answered_by = by or None
    call.ivr.close(at)
    call.queue_phase.close(at)
    call.in_queue = False


def _newexten(tracker: CallTracker, frame: Frame, call: Call, leg: Leg, at: float) -> None:
    dp = tracker.dialplan
    context, app = frame.get("Context", ""), frame.get("Application", "")
    if dp.voicemail(context, app):
        call.voicemail = True
    if leg.uniqueid != call.origin:
        return
    exten = frame.get("Extension") or frame.get("Exten", "")
    if dp.ivr_context(context):
        call.ivr.open(at)
        if frame.get("Priority") == "1" and _KEYS_RE.match(exten):
            call.ivr_keys = extended(call.ivr_keys, exten)
    else:
        call.ivr.close(at)
    call.queue_left = False
    _origin_app(call, app, frame.get("AppData", ""), at)
    if exten not in NON_NUMBERS:
        if dp.ringgroup_context(context):
            call.add_extension(exten)
        if dp.queue_context(context) and call.queue is None:
            call.queue = exten
        if call.dialed is None and dp.inbound_context(context):
            call.dialed = exten
    if call.direction is Direction.INTERNAL and dp.outbound_context(context):
        call.direction = Direction.OUTBOUND


def _origin_app(call: Call, app: str, data: str, at: float) -> None:
    """The dialplan application the caller's channel runs now."""
    if app == "Queue":
        call.queue = data.partition(",")[0] or call.queue
        call.in_queue = True
        call.queue_phase.open(at)
    elif call.in_queue:
        call.in_queue = False
        call.queue_phase.close(at)
    if app in BUSY_APPS:
        call.busy = True


def _newstate(tracker: CallTracker, frame: Frame, call: Call, leg: Leg, at: float) -> None:
    if leg.uniqueid == call.origin and frame.get("ChannelStateDesc") == "Busy":
        call.busy = True


def _newcallerid(tracker: CallTracker, frame: Frame, call: Call, leg: Leg, at: float) -> None:
    if leg.uniqueid == call.origin and call.caller_name is None:
        call.caller_name = clean_name(frame.get("CallerIDName"))


def _dialbegin(tracker: CallTracker, frame: Frame, call: Call, leg: Leg, at: float) -> None:
    dest_uid, dest = frame.get("DestUniqueid"), frame.get("DestChannel", "")
    if not dest_uid or not dest:
        tracker.report("event_missing_fields", "DialBegin without DestUniqueid/DestChannel")
        return
    if is_local(dest):
        return
    dp = tracker.dialplan
    label = extension_of(dest)
    if dp.trunk_channel(dest) or not label.isdigit():
        label = number_in(frame.get("DialString", "")) or label
        if call.direction is Direction.INTERNAL:
            call.direction = Direction.OUTBOUND
    dest_leg = call.legs.get(dest_uid)
    if dest_leg is not None:
        dest_leg.label = sys.intern(label)
        dest_uid = dest_leg.uniqueid  # one string object for the channel, not one per event
    if label.isdigit() and not dp.external_number(label):
        call.add_extension(label)
    call.ring.open(at)
    call.dial(dest_uid)


def _dialend(tracker: CallTracker, frame: Frame, call: Call, leg: Leg, at: float) -> None:
    dest_uid = frame.get("DestUniqueid", "")
    if frame.get("DialStatus") in BUSY_STATUSES:
        dest_leg = call.legs.get(dest_uid)
        call.line_busy(dest_leg.uniqueid if dest_leg is not None else dest_uid)
    if call.stop_ringing(dest_uid):
        call.ring.close(at)


def _bridgeenter(tracker: CallTracker, frame: Frame, call: Call, leg: Leg, at: float) -> None:
    bridge = frame.get("BridgeUniqueid")
    if not bridge:
        tracker.report("event_missing_fields", "BridgeEnter without BridgeUniqueid")
        return
    tracker.enter_bridge(leg, bridge, at)


def _bridgeleave(tracker: CallTracker, frame: Frame, call: Call, leg: Leg, at: float) -> None:
    tracker.leave_bridge(leg)


def _hanguprequest(tracker: CallTracker, frame: Frame, call: Call, leg: Leg, at: float) -> None:
    if leg.uniqueid == call.origin:
        call.caller_left = True


def _hangup(tracker: CallTracker, frame: Frame, call: Call, leg: Leg, at: float) -> None:
    if leg.uniqueid == call.origin:
        call.origin_ended_at = at
        if call.answered_at is None:
            if frame.get("Cause") in BUSY_CAUSES:
                # Asterisk copies a busy leg's cause to the caller even when other
                # phones rang: only a hint, weighed against the legs in `outcome`.
                call.busy_cause = True
            if call.in_queue or call.queue_left:
                call.queue_abandoned = True
        call.in_queue = False
        call.ivr.close(at)
        call.queue_phase.close(at)
    tracker.remove_leg(call, leg, at)


def _queuejoin(tracker: CallTracker, frame: Frame, call: Call, leg: Leg, at: float) -> None:
    call.queue = frame.get("Queue") or call.queue
    call.in_queue = True
    call.queue_phase.open(at)


def _queueleave(tracker: CallTracker, frame: Frame, call: Call, leg: Leg, at: float) -> None:
    call.in_queue = False
    call.queue_phase.close(at)


def _queueabandon(tracker: CallTracker, frame: Frame, call: Call, leg: Leg, at: float) -> None:
    """Also sent on a queue timeout (the call then goes on): an abandon when the
    caller asked to hang up, or when the caller's Hangup follows with no dialplan
    step in between."""
    if call.caller_left and call.answered_at is None:
        call.queue_abandoned = True
    _queueleave(tracker, frame, call, leg, at)
    # A timeout goes on in the dialplan (a Newexten clears this); a caller who hung
    # up (HangupRequest perhaps before we connected) is hung up next.
    call.queue_left = True


def _agentconnect(tracker: CallTracker, frame: Frame, call: Call, leg: Leg, at: float) -> None:
    if call.answered_at is None:
        by = interface_extension(frame.get("Interface", "")) or frame.get("MemberName", "")
        mark_answered(call, by, at)


def _dtmfend(tracker: CallTracker, frame: Frame, call: Call, leg: Leg, at: float) -> None:
    if (
        leg.uniqueid == call.origin
        and frame.get("Direction") == "Received"
        and call.ivr.since is not None
    ):
        call.dtmf = extended(call.dtmf, frame.get("Digit", "")[:1])


_HANDLERS = {
    "Newexten": _newexten,
    "Newstate": _newstate,
    "NewCallerid": _newcallerid,
    "DialBegin": _dialbegin,
    "DialEnd": _dialend,
    "BridgeEnter": _bridgeenter,
    "BridgeLeave": _bridgeleave,
    "HangupRequest": _hanguprequest,
    "Hangup": _hangup,
    "QueueCallerJoin": _queuejoin,
    "QueueCallerLeave": _queueleave,
    "QueueCallerAbandon": _queueabandon,
    "AgentConnect": _agentconnect,
    "DTMFEnd": _dtmfend,
}


def handlers(tracker: CallTracker) -> dict[str, Handler]:
    """The handlers bound to one tracker (Newchannel is the tracker's own)."""

    # partial, not a lambda: no Python frame of its own per event
    return {name: partial(fn, tracker) for name, fn in _HANDLERS.items()}


def _duration(value: str) -> float:
    match = _DURATION_RE.match(value)
    if match is None:
        return 0.0
    hours, minutes, seconds = (int(g) for g in match.groups())
    return hours * 3600.0 + minutes * 60.0 + seconds


RINGING_STATES = frozenset({"Down", "Ring", "Ringing", "Dialing", "Pre-ring"})


def learn_channel(tracker: CallTracker, frame: Frame, received_at: float) -> None:
    """One `CoreShowChannel` entry of a channel the tracker did not know (adoption)."""
    started = received_at - _duration(frame.get("Duration", ""))
    call, leg = tracker.learn(frame, started, received_at)
    refresh_channel(tracker, frame, call, received_at, leg)


def refresh_channel(
    tracker: CallTracker, frame: Frame, call: Call, at: float, leg: Leg | None = None
) -> None:
    """What one `CoreShowChannel` entry tells about its call now: the bridge the
    channel is in (a person bridged with the caller answered), the application the
    caller's channel runs (Dial, Queue, VoiceMail, Busy, a menu), and a phone's
    channel not yet bridged, which is a phone ringing for the call."""
    leg = leg or call.legs.get(frame["Uniqueid"])
    if leg is None:
        return
    bridge = frame.get("BridgeId") or frame.get("BridgeID")
    if bridge and bridge != leg.bridge:
        tracker.enter_bridge(leg, bridge, at)
    elif not bridge and leg.bridge is not None:
        tracker.leave_bridge(leg)
    if leg.uniqueid == call.origin:
        _origin_snapshot(tracker.dialplan, frame, call, at)
    elif not leg.local and leg.bridge is None and call.answered_at is None:
        _ringing_snapshot(tracker.dialplan, frame, call, leg, at)


def _origin_snapshot(dp: Dialplan, frame: Frame, call: Call, at: float) -> None:
    context, app = frame.get("Context", ""), frame.get("Application", "")
    exten = frame.get("Exten", "")
    if dp.voicemail(context, app):
        call.voicemail = True
    if dp.ivr_context(context) and app != "Queue":
        call.ivr.open(at)
    if frame.get("ChannelStateDesc") == "Busy":
        call.busy = True
    if exten not in NON_NUMBERS and dp.ringgroup_context(context):
        call.add_extension(exten)
    if exten not in NON_NUMBERS and dp.queue_context(context) and call.queue is None:
        call.queue = exten
    _origin_app(call, app, frame.get("ApplicationData", ""), at)
    if (
        app == "Dial"
        and call.answered_at is None
        and (frame.get("BridgeId") or frame.get("BridgeID"))
    ):
        # Dial bridges its caller only once the dialled party answered; the party may
        # already be gone (hung up just before the snapshot) while the caller's
        # channel has not left the bridge yet.
        who = frame.get("ConnectedLineNum", "")
        mark_answered(call, "" if who in NON_NUMBERS else who, at)


def _ringing_snapshot(dp: Dialplan, frame: Frame, call: Call, leg: Leg, at: float) -> None:
    if frame.get("ChannelStateDesc") not in RINGING_STATES or leg.uniqueid in call.dialed_legs:
        return
    if dp.trunk_channel(frame.get("Channel", "")):
        if call.direction is Direction.INTERNAL:
            call.direction = Direction.OUTBOUND
    elif leg.label.isdigit() and not dp.external_number(leg.label):
        call.add_extension(leg.label)
    call.ring.open(at)
    call.dial(leg.uniqueid)


_Fn = Callable[[CallTracker, Frame, Call, Leg, float], None]
