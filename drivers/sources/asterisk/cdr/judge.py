"""The CDR/CEL rows of one call (one `linkedid`) -> its `CallRecord`. Pure.

The rules follow the live tracker's (`outcome.py`), in the same order, read from the
rows instead of the events:
1. a CDR `ANSWERED` towards a person's channel (not Local, not the caller's own), or a
   CEL `BRIDGE_ENTER` of such a channel                                  -> answered
2. a row ran VoiceMail (`lastapp`, a voicemail context, CEL APP_START)    -> voicemail
3. the caller ran Busy/Congestion, or every dial leg was BUSY/FAILED/CONGESTION (and
   no queue had the call)                                                -> busy
4. the caller was still in Queue when it hung up (CDR `lastapp` of the caller's last
   row, CEL APP_START Queue with no APP_END before the caller's HANGUP)  -> abandoned_queue
5. a dial leg rang (NO ANSWER, CANCEL)                                    -> missed
6. otherwise the PBX itself had the call (menu, announcement)            -> abandoned_ivr
Rules 4-6 become short_abandon when the caller left within `short_abandon_seconds`.
Rows never say `unknown`: a call is judged only once its rows are complete
(`CallRows.complete`). Direction and caller come from the originating channel (the
one whose uniqueid is the linkedid), with the live tracker's `Dialplan`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from agent.model import CallRecord, Direction, Evidence, Outcome
from drivers.sources.asterisk.cdr.rows import CdrRow, CelRow
from drivers.sources.asterisk.dialplan import Dialplan, clean_id, extension_of, is_local

BUSY_DISPOSITIONS = frozenset({"BUSY", "FAILED", "CONGESTION"})
BUSY_APPS = frozenset({"busy", "congestion"})
IVR_APPS = frozenset({"background", "waitexten", "read", "playback"})
NON_NUMBERS = frozenset({"", "s", "h", "i", "t"})
_ABANDONS = frozenset({Outcome.ABANDONED_QUEUE, Outcome.MISSED, Outcome.ABANDONED_IVR})
_CLID_RE = re.compile(r'^\s*"?(?P<name>[^"<]*?)"?\s*<[^>]*>\s*$')


@dataclass(slots=True)
class CallRows:
    """Every CDR and CEL row of one linkedid."""

    linkedid: str
    cdr: list[CdrRow] = field(default_factory=list)
    cel: list[CelRow] = field(default_factory=list)
    own: list[CdrRow] = field(default_factory=list)  # the caller's CDRs (set by `group`)
    own_cel: list[CelRow] = field(default_factory=list)  # the caller's CEL events

    @property
    def complete(self) -> bool:
        """The caller's channel is gone: CEL says LINKEDID_END or the caller's HANGUP,
        or the caller's own CDR is written (Asterisk writes a channel's CDRs when it
        hangs up)."""
        lid = self.linkedid
        if self.own or any(r.uniqueid == lid for r in self.cdr):
            return True
        return any(
            e.eventtype == "LINKEDID_END" or (e.uniqueid == lid and e.eventtype == "HANGUP")
            for e in self.cel
        )


@dataclass(frozen=True, slots=True)
class _Origin:
    channel: str
    context: str
    exten: str
    src: str
    clid: str
    did: str


def group(cdr: Iterable[CdrRow], cel: Iterable[CelRow]) -> dict[str, CallRows]:
    """Rows by linkedid, CDRs deduplicated on (linkedid, uniqueid, sequence), each list
    in time order."""
    calls: dict[str, CallRows] = {}
    seen: set[tuple[str, str, int]] = set()
    for row in cdr:
        if row.key in seen:
            continue
        seen.add(row.key)
        calls.setdefault(row.linkedid, CallRows(row.linkedid)).cdr.append(row)
    for event in cel:
        calls.setdefault(event.linkedid, CallRows(event.linkedid)).cel.append(event)
    for rows in calls.values():
        rows.cdr.sort(key=lambda r: (r.start, r.sequence))
        rows.cel.sort(key=lambda e: e.order)
        rows.own = [r for r in rows.cdr if r.uniqueid == rows.linkedid]
        rows.own_cel = [e for e in rows.cel if e.uniqueid == rows.linkedid]
    return calls


def judge(rows: CallRows, dialplan: Dialplan, source: str, short_abandon: float) -> CallRecord:
    """The record of one complete call."""
    lid = rows.linkedid
    origin = _origin(rows)
    direction = _direction(rows, origin, dialplan)
    started, ended = _span(rows)
    person = _person_rows(rows, origin.channel)
    bridged = _bridged_person(rows, origin.channel)
    queue = _queue(rows)
    outcome = _outcome(rows, dialplan, person, bridged, queue)
    left_at = _caller_left_at(rows, ended)
    left = _caller_left(rows, origin.channel)
    if outcome in _ABANDONS and left and left_at - started < short_abandon:
        outcome = Outcome.SHORT_ABANDON
    answered_by = None
    talk = 0.0
    if person:
        answered_by = extension_of(person[0].dstchannel)
        talk = float(person[0].billsec)
    elif bridged is not None:
        answered_by = extension_of(bridged.channame)
        talk = max(0.0, left_at - bridged.at.timestamp())
    return CallRecord(
        source=source,
        call_id=lid,
        started_at=_utc(started),
        ended_at=_utc(max(ended, started)),
        direction=direction,
        outcome=outcome,
        caller_raw=origin.src,
        caller_name=_name(origin.clid),
        dialed=_dialed(direction, origin),
        queue=queue,
        ring_seconds=round(_ring_seconds(rows), 3),
        ivr_seconds=round(_ivr_seconds(rows, dialplan), 3),
        queue_seconds=round(_queue_seconds(rows, talk), 3),
        talk_seconds=round(talk, 3),
        answered_by=answered_by,
        extensions=_extensions(rows, dialplan, origin.channel),
        evidence=Evidence.CDR,
    )


# --- who called whom -----------------------------------------------------------------


def _origin(rows: CallRows) -> _Origin:
    own = rows.own or rows.cdr
    first = own[0] if own else None
    start = next((e for e in rows.own_cel if e.eventtype == "CHAN_START"), None)
    return _Origin(
        channel=(start.channame if start else "") or (first.channel if first else ""),
        context=start.context if start else "",
        exten=(start.exten if start else "") or (first.dst if first else ""),
        src=clean_id(first.src if first else (start.cid_num if start else "")) or "",
        clid=first.clid if first else "",
        did=next((r.did for r in own if r.did), ""),
    )


def _direction(rows: CallRows, origin: _Origin, dp: Dialplan) -> Direction:
    own = rows.own or rows.cdr[:1]
    if origin.context:  # CEL knows where the channel started, as AMI's Newchannel does
        inbound = dp.inbound_context(origin.context)
    else:
        inbound = (
            bool(origin.did)
            or any(dp.inbound_context(r.dcontext) for r in own)
            or (dp.external_number(origin.src) and not is_local(origin.channel))
        )
    if inbound or dp.trunk_channel(origin.channel):
        return Direction.INBOUND
    exten = origin.exten
    contexts = [origin.context] + [r.dcontext for r in own]
    if (
        dp.external_number(exten)
        or any(dp.outbound_context(c) for c in contexts if c)
        or any(r.dstchannel and dp.trunk_channel(r.dstchannel) for r in rows.cdr)
    ):
        return Direction.OUTBOUND
    return Direction.INTERNAL


def _dialed(direction: Direction, origin: _Origin) -> str | None:
    if direction is Direction.INBOUND and origin.did:
        return origin.did
    return origin.exten if origin.exten not in NON_NUMBERS else None


def _name(clid: str) -> str | None:
    match = _CLID_RE.match(clid)
    return clean_id(match["name"].strip()) if match else None


# --- what happened ---------------------------------------------------------------------


def _person_rows(rows: CallRows, origin_channel: str) -> list[CdrRow]:
    """CDRs answered towards a person: dstchannel not Local, not the caller's."""
    return [
        r
        for r in rows.cdr
        if r.disposition == "ANSWERED"
        and r.dstchannel
        and not is_local(r.dstchannel)
        and r.dstchannel != origin_channel
    ]


def _bridged_person(rows: CallRows, origin_channel: str) -> CelRow | None:
    return next(
        (
            e
            for e in rows.cel
            if e.eventtype == "BRIDGE_ENTER"
            and not is_local(e.channame)
            and e.uniqueid != rows.linkedid
            and e.channame != origin_channel
        ),
        None,
    )


def _outcome(
    rows: CallRows,
    dp: Dialplan,
    person: list[CdrRow],
    bridged: CelRow | None,
    queue: str | None,
) -> Outcome:
    if person or bridged is not None:
        return Outcome.ANSWERED
    if any(dp.voicemail(r.dcontext, r.lastapp) for r in rows.cdr) or any(
        e.eventtype == "APP_START" and dp.voicemail("", e.appname) for e in rows.cel
    ):
        return Outcome.VOICEMAIL
    legs = [r for r in rows.cdr if r.dstchannel]
    own = rows.own
    if any(r.lastapp.lower() in BUSY_APPS for r in own) or (
        legs and queue is None and all(r.disposition in BUSY_DISPOSITIONS for r in legs)
    ):
        return Outcome.BUSY
    if _hung_up_in_queue(rows):
        return Outcome.ABANDONED_QUEUE
    if any(r.disposition not in BUSY_DISPOSITIONS for r in legs):
        return Outcome.MISSED
    return Outcome.ABANDONED_IVR


def _hung_up_in_queue(rows: CallRows) -> bool:
    own_cel = rows.own_cel
    if own_cel:
        in_queue = False
        for event in own_cel:
            if event.appname.lower() == "queue" and event.eventtype == "APP_START":
                in_queue = True
            elif event.appname.lower() == "queue" and event.eventtype == "APP_END":
                in_queue = False
            elif event.eventtype == "HANGUP":
                return in_queue or event.appname.lower() == "queue"
        return in_queue
    own = rows.own
    return bool(own) and max(own, key=lambda r: r.end).lastapp.lower() == "queue"


def _queue(rows: CallRows) -> str | None:
    for event in rows.cel:
        if event.eventtype == "APP_START" and event.appname.lower() == "queue":
            return event.appdata.partition(",")[0] or None
    for row in rows.cdr:
        if row.lastapp.lower() == "queue":
            return row.lastdata.partition(",")[0] or None
    return None


def _caller_hangup(rows: CallRows) -> CelRow | None:
    return next((e for e in rows.own_cel if e.eventtype == "HANGUP"), None)


def _caller_left(rows: CallRows, origin_channel: str) -> bool:
    """The caller hung up (CEL's hangupsource); without CEL, assumed."""
    hangup = _caller_hangup(rows)
    if hangup is None:
        return True
    source = hangup.extra.get("hangupsource")
    return not source or source in (origin_channel, hangup.channame)


def _caller_left_at(rows: CallRows, ended: float) -> float:
    hangup = _caller_hangup(rows)
    if hangup is not None:
        return hangup.at.timestamp()
    own = [r.end for r in rows.own]
    return max(own) if own else ended


# --- times ------------------------------------------------------------------------------


def _span(rows: CallRows) -> tuple[float, float]:
    starts = [r.start.timestamp() for r in rows.cdr] + [e.at.timestamp() for e in rows.cel]
    ends = [r.end for r in rows.cdr] + [e.at.timestamp() for e in rows.cel]
    return min(starts), max(ends)


def _ring_seconds(rows: CallRows) -> float:
    """The union of the dial legs' ringing intervals (start .. start + duration - billsec)."""
    spans = sorted(
        (r.start.timestamp(), r.start.timestamp() + r.duration - r.billsec)
        for r in rows.cdr
        if r.dstchannel and not is_local(r.dstchannel)
    )
    total, until = 0.0, float("-inf")
    for begin, end in spans:
        begin = max(begin, until)
        if end > begin:
            total += end - begin
            until = end
    return total


def _ivr_seconds(rows: CallRows, dp: Dialplan) -> float:
    own = rows.own
    return float(
        sum(
            r.duration
            for r in own
            if dp.ivr_context(r.dcontext) or (r.lastapp.lower() in IVR_APPS and not r.dstchannel)
        )
    )


def _queue_seconds(rows: CallRows, talk: float) -> float:
    starts = [e.at.timestamp() for e in rows.cel if _queue_event(e, "APP_START", rows.linkedid)]
    if starts:
        stops = [
            e.at.timestamp()
            for e in rows.cel
            if _queue_event(e, "APP_END", rows.linkedid)
            or (e.uniqueid == rows.linkedid and e.eventtype == "HANGUP")
        ]
        end = min((s for s in stops if s >= starts[0]), default=starts[0])
        return max(0.0, end - starts[0] - talk)
    own = [r for r in rows.own if r.lastapp.lower() == "queue"]
    return max(0.0, sum(r.duration for r in own) - talk)


def _queue_event(event: CelRow, kind: str, lid: str) -> bool:
    return event.uniqueid == lid and event.eventtype == kind and event.appname.lower() == "queue"


def _extensions(rows: CallRows, dp: Dialplan, origin_channel: str) -> tuple[str, ...]:
    out: list[str] = []
    for row in rows.cdr:
        if dp.ringgroup_context(row.dcontext) and row.dst and row.dst not in out:
            out.append(row.dst)
        channel = row.dstchannel
        if channel and channel != origin_channel and not dp.trunk_channel(channel):
            extension = extension_of(channel)
            if extension and extension not in out:
                out.append(extension)
    return tuple(out)


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)
