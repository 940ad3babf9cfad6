"""The call tracker: AMI events -> one `CallRecord` per finished call. Pure, no I/O.

Events are grouped by `Linkedid`, which every channel of a call shares (trunk leg,
phone legs, both halves of Local channels, queue members, transfer targets). The
originating channel is the one whose `Uniqueid` equals the `Linkedid`: direction,
caller and DID come from it only. A call is finished when its last channel hangs up.
When Asterisk moves a channel to another Linkedid (bridging propagates the oldest
one: call pickup, attended transfer), the channel follows. Bridges are tracked
across calls, so a pickup is seen as an answer whichever Linkedid the events carry.

Anything malformed (missing fields, a channel or Linkedid never seen) is reported
through `report(kind, detail)` and skipped; it never raises.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field

from agent.model import CallRecord, Counters, Direction
from drivers.sources.asterisk import events as ev
from drivers.sources.asterisk.call import Call, Leg
from drivers.sources.asterisk.config import AsteriskConfig
from drivers.sources.asterisk.dialplan import Dialplan, extension_of, is_local
from drivers.sources.asterisk.frames import Frame, Report
from drivers.sources.asterisk.outcome import build_record

# The `Timestamp` headers a call may carry: 2000-01-01 to 2100-01-01 UTC, at most 32
# characters. Past these it is a corrupt header, not a time (1e300 overflowed every
# datetime built from it and tore the session down).
MIN_TIMESTAMP = 946_684_800.0
MAX_TIMESTAMP = 4_102_444_800.0
_MAX_STAMP_CHARS = 32


def event_time(frame: Frame, received_at: float, report: Report | None = None) -> float:
    """The event's `Timestamp` header (timestampevents=yes), else when it arrived; a
    header that is no plausible time is reported `bad_timestamp` and not used."""
    stamp = frame.get("Timestamp")
    if not stamp:
        return received_at
    try:  # (not contextlib.suppress: an object per event)
        value = float(stamp) if len(stamp) <= _MAX_STAMP_CHARS else math.nan
    except ValueError:
        value = math.nan
    if MIN_TIMESTAMP <= value <= MAX_TIMESTAMP:  # False for NaN
        return value
    if report is not None:
        report("bad_timestamp", f"Timestamp {stamp[:40]!r} is not a time; arrival time used")
    return received_at


@dataclass
class TrackerState:
    """What a tracker hands to its successor across a reload (see `HandsOver`): the
    calls in progress, their channels and bridges, and records not yet yielded."""

    calls: dict[str, Call]
    index: dict[str, str]
    bridges: dict[str, set[str]]
    pending: list[CallRecord] = field(default_factory=list)


class CallTracker:
    """Feed it events; it returns the calls they finish."""

    def __init__(self, config: AsteriskConfig, counters: Counters, report: Report) -> None:
        self.source = config.name
        self._short = config.short_abandon_seconds
        self._idle = config.call_idle_timeout_seconds
        self.dialplan = Dialplan(config)
        self._counters = counters
        self.report = report
        self.calls: dict[str, Call] = {}
        self._index: dict[str, str] = {}  # Uniqueid -> Linkedid
        self.bridges: dict[str, set[str]] = {}  # BridgeUniqueid -> Uniqueids
        self._out: list[CallRecord] = []
        self._handlers: dict[str, ev.Handler] = ev.handlers(self)

    # --- feeding -------------------------------------------------------------------

    def feed(self, frame: Frame, received_at: float) -> list[CallRecord]:
        """Apply one event; returns the records of the calls it finished (often [])."""
        name = frame.get("Event", "")
        stamp = frame.get("Timestamp")
        try:  # event_time's common case inline: a plausible Timestamp (a frame less)
            at = float(stamp) if stamp and len(stamp) <= _MAX_STAMP_CHARS else math.nan
        except ValueError:
            at = math.nan
        if not MIN_TIMESTAMP <= at <= MAX_TIMESTAMP:  # (True for NaN)
            at = event_time(frame, received_at, self.report)
        try:
            if name == "Newchannel":
                self._newchannel(frame, at, received_at)
            else:
                handler = self._handlers.get(name)
                if handler is None:
                    self._counters.inc("events_ignored")
                    return []
                found = self._find(frame, at, received_at)
                if found is not None:
                    handler(frame, found[0], found[1], at)
        except (ArithmeticError, ValueError, LookupError) as err:
            # a handler bug on input nobody foresaw: this event is lost, the session and
            # every other call in flight are not (the fuzz tests hold this at zero)
            self.report("event_failed", f"{name} event: {type(err).__name__}: {err}")
        if not self._out:
            return []
        out, self._out = self._out, []
        return out

    def _take(self) -> list[CallRecord]:
        if not self._out:
            return []
        out, self._out = self._out, []
        return out

    def _find(self, frame: Frame, at: float, received_at: float) -> tuple[Call, Leg] | None:
        uid = frame.get("Uniqueid")
        lid = frame.get("Linkedid")
        if not uid or not lid:
            self.report("event_missing_fields", f"{frame.get('Event')} without Uniqueid/Linkedid")
            return None
        owner = self._index.get(uid)
        if owner is None:
            kind = "unknown_channel" if lid in self.calls else "unknown_linkedid"
            self.report(kind, f"{frame.get('Event')} for a channel never announced")
            return None
        call = self.calls[owner] if owner == lid else self._move(uid, owner, lid, at, received_at)
        call.last_event_at = max(call.last_event_at, at)
        call.touched_at = received_at
        return call, call.legs[uid]

    # --- channels ------------------------------------------------------------------

    def _newchannel(self, frame: Frame, at: float, received_at: float) -> None:
        uid, lid = frame.get("Uniqueid"), frame.get("Linkedid")
        channel = frame.get("Channel", "")
        if not uid or not lid or not channel:
            self.report("event_missing_fields", "Newchannel without Uniqueid/Linkedid/Channel")
            return
        if uid in self._index:
            return
        call = self.calls.get(lid)
        if call is None:
            call = self._open(uid if uid == lid else lid, at, received_at)
            if uid != lid:
                call.gap = True
                self.report("unknown_linkedid", "Newchannel joins a call never announced")
        label = sys.intern(extension_of(channel))
        self._attach(call, Leg(uid, is_local(channel), label))
        if uid == lid:
            self.set_origin(call, frame, at)

    def _open(self, lid: str, at: float, received_at: float) -> Call:
        call = Call(lid, at, at, received_at)
        self.calls[lid] = call
        return call

    def _attach(self, call: Call, leg: Leg) -> None:
        call.legs[leg.uniqueid] = leg
        self._index[leg.uniqueid] = call.linkedid

    def set_origin(self, call: Call, frame: Frame, at: float, adopted: bool = False) -> None:
        """The channel that started the call: caller, DID, direction. An `adopted`
        channel (from a snapshot) is somewhere in the dialplan by now: its `Exten` is
        taken as the DID only while it is still in an inbound context."""
        dp = self.dialplan
        call.origin = frame.get("Uniqueid")
        context, exten = frame.get("Context", ""), frame.get("Exten", "")
        channel = frame.get("Channel", "")
        call.origin_context = sys.intern(context)
        call.caller_num = ev.clean_number(frame.get("CallerIDNum"))
        call.caller_name = ev.clean_name(frame.get("CallerIDName"))
        if dp.inbound_context(context) or dp.trunk_channel(channel):
            call.direction = Direction.INBOUND
        elif dp.external_number(exten) or dp.outbound_context(context):
            call.direction = Direction.OUTBOUND
        elif adopted and not is_local(channel) and not extension_of(channel).isdigit():
            # Past the inbound context by now: a caller's channel that is not a
            # phone's (PJSIP/pstn-…, not PJSIP/101-…) came in from a trunk.
            call.direction = Direction.INBOUND
        if exten not in ev.NON_NUMBERS and (not adopted or dp.inbound_context(context)):
            call.dialed = sys.intern(exten)
        if dp.ivr_context(context):
            call.ivr.open(at)

    def _move(self, uid: str, old_lid: str, new_lid: str, at: float, rcv: float) -> Call:
        """Asterisk gave this channel another Linkedid: it now belongs to that call."""
        old = self.calls[old_lid]
        leg = old.legs.pop(uid)
        old.stop_ringing(uid)
        if uid == old.origin:
            old.absorbed = True
        new = self.calls.get(new_lid)
        if new is None:
            new = self._open(new_lid, at, rcv)
            new.gap = True
        self._attach(new, leg)
        if not old.legs:
            self.finish(old, at)
        return new

    def remove_leg(self, call: Call, leg: Leg, at: float) -> None:
        """A channel hung up; the call finishes with its last channel."""
        uid = leg.uniqueid
        call.legs.pop(uid, None)
        self._index.pop(uid, None)
        self.leave_bridge(leg)
        if call.stop_ringing(uid):
            call.ring.close(at)
        if not call.legs:
            self.finish(call, at)

    def leave_bridge(self, leg: Leg) -> None:
        if leg.bridge is None:
            return
        members = self.bridges.get(leg.bridge)
        if members is not None:
            members.discard(leg.uniqueid)
            if not members:
                del self.bridges[leg.bridge]
        leg.bridge = None

    def enter_bridge(self, leg: Leg, bridge: str, at: float) -> None:
        """Join a bridge; every call with a channel in it and a person's channel
        (not a Local channel, not that call's own originating channel) is answered."""
        self.leave_bridge(leg)
        leg.bridge = bridge
        members = self.bridges.setdefault(bridge, set())
        members.add(leg.uniqueid)
        if len(members) < 2:
            return
        legs = [(c, c.legs[u]) for u in members if (c := self._call_of(u)) is not None]
        for call, _ in legs:
            if call.answered_at is not None:
                continue
            for _, other in legs:
                if not other.local and other.uniqueid != call.origin:
                    ev.mark_answered(call, other.label, at)
                    break

    def _call_of(self, uid: str) -> Call | None:
        lid = self._index.get(uid)
        return self.calls.get(lid) if lid is not None else None

    # --- finishing -----------------------------------------------------------------

    def finish(self, call: Call, at: float) -> None:
        if self.calls.pop(call.linkedid, None) is None:
            return
        for leg in list(call.legs.values()):
            self._index.pop(leg.uniqueid, None)
            self.leave_bridge(leg)
        if call.absorbed and call.answered_at is None:
            self._counters.inc("calls_merged")
            return
        record = build_record(call, self.source, max(at, call.last_event_at), self._short)
        self._counters.inc("records")
        if call.gap:
            self._counters.inc("records_with_gap")
        self._out.append(record)

    def evict(self, now: float) -> list[CallRecord]:
        """Finish (outcome unknown unless answered) calls silent for the idle timeout."""
        for call in [c for c in self.calls.values() if now - c.touched_at > self._idle]:
            call.gap = True
            self.report("calls_evicted", f"call_id={call.linkedid} silent too long, evicted")
            self.finish(call, call.last_event_at)
        return self._take()

    # --- link loss and resync ------------------------------------------------------

    def connection_lost(self) -> None:
        """Events may be lost from now on: every call in progress becomes partial and
        is reconciled with the snapshot taken after reconnecting."""
        for call in self.calls.values():
            call.partial = True
            call.stale = True

    def resync(self, channels: Iterable[Frame], received_at: float) -> list[CallRecord]:
        """Reconcile with a `CoreShowChannels` snapshot taken after (re)connecting.

        Calls tracked before the link went down lose the channels Asterisk no longer
        has; one that loses its last channel before its caller's hang-up was seen
        ended unseen (outcome unknown). Channels still up refresh their call's state
        (bridge, application). Channels never seen are adopted: their call is opened
        `partial` from what `CoreShowChannel` tells, and its remaining events judge it.
        """
        snapshot = {f["Uniqueid"]: f for f in channels if f.get("Uniqueid") and f.get("Linkedid")}
        for call in [c for c in self.calls.values() if c.stale]:
            call.stale = False
            gone = [lg for u, lg in call.legs.items() if u not in snapshot]
            if len(gone) == len(call.legs) and call.origin_ended_at is None:
                call.gap = True
            for leg in gone:
                self.remove_leg(call, leg, received_at)
        adopted: set[str] = set()
        # Originating channels first, so a phone's channel finds its caller.
        for uid, frame in sorted(snapshot.items(), key=lambda i: i[0] != i[1]["Linkedid"]):
            lid = frame["Linkedid"]
            known = self._index.get(uid)
            if known is None:
                if lid not in self.calls:
                    adopted.add(lid)
                ev.learn_channel(self, frame, received_at)
            elif known in self.calls:
                ev.refresh_channel(self, frame, self.calls[known], received_at)
        for lid in adopted:
            if self.calls[lid].origin is None:
                self.calls[lid].gap = True  # the caller had left: its story is unknown
        if adopted:
            self._counters.inc("calls_adopted", len(adopted))
        return self._take()

    def learn(self, frame: Frame, started_at: float, received_at: float) -> tuple[Call, Leg]:
        """A channel from a snapshot joins its call (opened `partial` if new)."""
        uid, lid, channel = frame["Uniqueid"], frame["Linkedid"], frame.get("Channel", "")
        call = self.calls.get(lid)
        if call is None:
            call = self._open(lid, started_at, received_at)
            call.partial = call.adopted = True
        leg = Leg(uid, is_local(channel), extension_of(channel))
        self._attach(call, leg)
        if uid == lid:
            call.started_at = min(call.started_at, started_at)
            self.set_origin(call, frame, received_at, adopted=True)
        return call, leg

    # --- hand-off across a reload ---------------------------------------------------

    def hand_over(self) -> TrackerState:
        """Give up the calls in progress (this tracker is empty afterwards)."""
        state = TrackerState(self.calls, self._index, self.bridges)
        self.calls, self._index, self.bridges = {}, {}, {}
        return state

    def take_over(self, state: TrackerState) -> None:
        """Adopt a predecessor's calls. Events between its link and ours were seen by
        neither, so they are treated as after a lost link: the next snapshot
        reconciles them."""
        self.calls.update(state.calls)
        self._index.update(state.index)
        for bridge, members in state.bridges.items():
            self.bridges.setdefault(bridge, set()).update(members)
        for call in state.calls.values():
            call.gap = True
            call.stale = True

    @property
    def calls_in_progress(self) -> int:
        return len(self.calls)
