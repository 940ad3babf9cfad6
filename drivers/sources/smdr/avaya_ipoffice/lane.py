"""The IP Office batch lane (`read_lines`): what `feed` gives, line by line, for the
common record, with no call per line: clean batches of records read in one loop, a
one-record call built in place, a segment of a longer call held or joined as `feed`
does; any other line goes to `feed`. tests/drivers/smdr/test_quick.py holds it
equal to the long way. It drives the parser through `LaneParser` (the parser
imports this module, not the other way round)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, tzinfo
from typing import Any, Protocol

import drivers.sources.smdr.avaya_ipoffice.records as tables
from agent.model import CallRecord, Direction, Evidence, Outcome, new_call_record
from drivers.sources.smdr.avaya_ipoffice.calls import one_segment_outcome
from drivers.sources.smdr.avaya_ipoffice.records import (
    MAX_PENDING,
    MIN_FIELDS,
    NO_TRUNK,
    HeldCalls,
    Segment,
    to_span,
)
from drivers.sources.smdr.parsing import MAX_CALL_SECONDS, BadLine, ParseContext, strip_host

# The tables read with `.get` on the hot path, bound here by assignment: CPython
# compiles `NAME.get(...)` on a name bound by an import as an attribute load that
# makes a bound method per call, not LOAD_METHOD (the cost of the split otherwise).
BELOW, HH, HOLD, MM_SS_SECONDS, SECONDS, hour_starts, spans = (
    tables.BELOW,
    tables.HH,
    tables.HOLD,
    tables.MM_SS_SECONDS,
    tables.SECONDS,
    tables.hour_starts,
    tables.spans,
)


class LaneParser(Protocol):
    """The parser the lane reads for (`IpOfficeParser`). The lane adds to and takes
    from `held_calls` as `join` would, keeps its own tables in `lane_hours` and
    `lane_talks` (bounded), and hands every line it does not read itself to `feed`
    or `join`; it stops after a line that left `notes` or `failed`."""

    ctx: ParseContext
    notes: list[str]
    failed: list[BadLine]
    held_calls: HeldCalls
    lane_hours: dict[str, tuple[datetime, str]]
    lane_talks: dict[str, float]

    def feed(self, line: str, received_at: datetime) -> list[CallRecord]:
        """The calls `line` finishes. Raises `BadLine`."""

    def join(self, seg: Segment, received_at: datetime) -> list[CallRecord]:
        """The call `seg` finishes, if any; a continuation is held until then."""

    def evict(self, now: datetime) -> list[CallRecord]:
        """The oldest held calls, released while more than `MAX_PENDING` are held."""


_LANE_MAX = 4096  # entries of each table the lane fills as the stream goes


class _Draft:
    """`CallRecord`'s slots without its frozen `__setattr__`, filled by plain stores
    and then given `CallRecord` as its class (same slots): what `new_call_record`
    does, without its two calls per record."""

    __slots__ = CallRecord.__slots__


def _lane_hour(
    hours: dict[str, tuple[datetime, str]], text: str, tz: tzinfo
) -> tuple[datetime, str] | None:
    """The start in UTC and the "-YYYYMMDDTHH" of the call id of a local hour
    "YYYY/MM/DD HH:" the long way has checked and converted (`hour_starts`), else None."""
    if len(text) < 14 or text[13] != ":":
        return None
    hour = hour_starts.get((text[:13], tz))
    if hour is None:
        return None
    if len(hours) >= _LANE_MAX:
        hours.clear()
    t = text
    entry = hours[t[:14]] = (hour, "-" + t[0:4] + t[5:7] + t[8:10] + "T" + t[11:13])
    return entry


def _lane_talk(talks: dict[str, float], conn: str) -> float | None:
    """A connected time "hh:mm:ss" in its common shape, in seconds, else None."""
    hh, mm_ss = HH.get(conn[:2]), MM_SS_SECONDS.get(conn[3:])
    if hh is None or mm_ss is None or conn[2:3] != ":":
        return None
    if len(talks) >= _LANE_MAX:
        talks.clear()
    talk = talks[conn] = float(hh + mm_ss)
    return talk


def read_lines(  # noqa: PLR0915 (one loop: a call per line costs what a record costs)
    parser: LaneParser,
    lines: Sequence[str],
    start: int,
    received_at: datetime,
    out: list[CallRecord],
) -> tuple[int, Exception | None]:
    """`LineParser.feed_lines` for IP Office: a record whose
    every field has its common shape (as for `quick_record`) is read here in one
    pass: a one-record call becomes its `CallRecord` in place, a segment of a longer
    call is held or joined as `feed` does; any other line goes to `feed`. One long
    loop on purpose: a call per line costs what the whole record costs.
    tests/drivers/smdr/test_quick.py holds it equal to the long way."""
    ctx = parser.ctx
    name, tz, pending = ctx.config.name, ctx.tz, parser.held_calls
    latest = received_at + ctx.clock_tolerance
    limit = ctx.config.short_abandon_seconds
    hours, talks = parser.lane_hours, parser.lane_talks
    roles = ctx.roles.configured
    hour_of, talk_of = hours.get, talks.get
    below_of, seconds_of, hold_of, span_of = BELOW.get, SECONDS.get, HOLD.get, spans.get
    new, draft, final = object.__new__, _Draft, CallRecord
    inbound, outbound, internal_call = Direction.INBOUND, Direction.OUTBOUND, Direction.INTERNAL
    answered, missed, voicemail = Outcome.ANSWERED, Outcome.MISSED, Outcome.VOICEMAIL
    short, live, append = Outcome.SHORT_ABANDON, Evidence.LIVE, out.append
    for i in range(start, len(lines)):
        line = lines[i]
        f = line.split(",", 17)
        if len(f) >= MIN_FIELDS:
            text, conn, cid, direction, internal, more = f[0], f[1], f[9], f[4], f[8], f[10]
            hour = hour_of(text[:14])
            if hour is None:
                hour = _lane_hour(hours, text, tz)
            talk = talk_of(conn)
            if talk is None:
                talk = _lane_talk(talks, conn)
            below, ring, hold, park = (
                below_of(text[14:]),
                seconds_of(f[2]),
                hold_of(f[15]),
                hold_of(f[16]),
            )
            if (
                hour is not None and below is not None and talk is not None and ring is not None
                and hold is not None and park is not None
                and direction in {"I", "O"} and internal in {"0", "1"}
                and 0 < len(cid) <= 12 and cid.isascii() and cid.isdigit() and cid[0] != "0"
            ):  # fmt: skip
                started = hour[0] + below[0]
                d1, d2 = f[11].strip(), f[13].strip()
                if more == "0" and not (pending and (cid, text) in pending):
                    seconds = ring + talk + (hold + park)
                    span = span_of(seconds)
                    ended = started + (span if span is not None else to_span(seconds))
                    if ended <= latest:
                        p1, p2 = d1[:1], d2[:1]
                        e1 = d1[1:] if p1 == "E" else None  # the extension of a party
                        e2 = d2[1:] if p2 == "E" else None
                        who = None
                        if internal == "1" or (p1 in NO_TRUNK and p2 in NO_TRUNK):
                            way, outcome = internal_call, answered if talk > 0 else missed
                        elif direction == "O":
                            way, outcome = outbound, answered if talk > 0 else missed
                        else:
                            way = inbound
                            if roles:  # voicemail or auto-attendant devices listed
                                outcome, who = one_segment_outcome(talk, d1, d2, f[5].strip(), ctx)
                            elif talk > 0 and e1 is not None:
                                outcome, who = answered, e1
                            elif talk > 0 and e2 is not None:
                                outcome, who = answered, e2
                            elif talk > 0 and p1 == "T" and p2 == "T":
                                outcome, who = answered, d1
                            elif p1 == "V" or p2 == "V":
                                outcome = voicemail
                            else:
                                outcome = missed
                        if outcome is missed and limit > 0 and ring < limit:
                            outcome = short
                        if e1 is not None:
                            extensions: tuple[str, ...] = (
                                (e1, e2) if e2 is not None and d2 != d1 else (e1,)
                            )
                        else:
                            extensions = (e2,) if e2 is not None else ()
                        caller = f[3]
                        if "@" in caller:
                            caller = caller.partition("@")[0]
                        called = f[5].strip()
                        r: Any = new(draft)
                        r.source = name
                        r.call_id = f"ipo-{cid}{hour[1]}{below[1]}"
                        r.started_at = started
                        r.ended_at = ended
                        r.direction = way
                        r.outcome = outcome
                        r.caller_raw = caller.strip()
                        r.caller_e164 = None
                        r.caller_name = None
                        r.dialed = called or None
                        r.queue = None
                        r.ivr_path = ""
                        r.ring_seconds = ring
                        r.ivr_seconds = 0.0
                        r.queue_seconds = 0.0
                        r.talk_seconds = talk
                        r.answered_by = who
                        r.extensions = extensions
                        r.evidence = live
                        r.__class__ = final
                        append(r)
                        continue
                elif more in {"0", "1"}:
                    seg = Segment(
                        text, started, talk, ring, hold + park, strip_host(f[3]),
                        direction == "I", internal == "1", f[5].strip(), cid, more == "1",
                        ((d1, f[12]), (d2, f[14])),
                    )  # fmt: skip
                    if more == "1":  # held until its last record (`join`)
                        key = (cid, text)
                        held = pending.pop(key, None) if pending else None
                        if held is None:
                            pending[key] = (received_at, [seg])
                        else:
                            held[1].append(seg)
                            pending[key] = held
                        if len(pending) > MAX_PENDING:
                            out += parser.evict(received_at)
                            if parser.notes or parser.failed:
                                return i + 1, None
                        continue
                    held = pending.pop((cid, text), None)
                    if held is not None:  # the last record of a held call
                        segments = held[1]
                        segments.append(seg)
                        record = None if roles else _lane_call(segments, name, latest, limit)
                        if record is not None:
                            append(record)
                            continue
                        pending[cid, text] = held  # the long way reads it again
                        segments.pop()
                    try:
                        out += parser.join(seg, received_at)
                    except (BadLine, ArithmeticError, ValueError, LookupError) as err:
                        return i + 1, err
                    if parser.notes or parser.failed:
                        return i + 1, None
                    continue
        try:
            out += parser.feed(line, received_at)
        except (BadLine, ArithmeticError, ValueError, LookupError) as err:
            return i + 1, err
        if parser.notes or parser.failed:
            return i + 1, None
    return len(lines), None


def _lane_call(
    segments: list[Segment], name: str, latest: datetime, limit: float
) -> CallRecord | None:
    """`call_values` and `record_of` of a complete call whose segments the batch lane
    read (no device roles): one pass over the segments. None when the call is not
    in its common shape (a bound crossed, a clock ahead): the long way says why."""
    first = segments[0]
    ring = talk = other = 0.0
    no_trunk, machine = True, False
    who: str | None = None
    extensions: list[str] = []
    for seg in segments:
        ring += seg.ring
        talk += seg.connected
        other += seg.hold_park
        (d1, _), (d2, _) = seg.parties
        p1, p2 = d1[:1], d2[:1]
        if p1 not in NO_TRUNK or p2 not in NO_TRUNK:
            no_trunk = False
        if who is None and seg.connected > 0:
            if p1 == "E":
                who = d1[1:]
            elif p2 == "E":
                who = d2[1:]
            elif p1 == "T" and p2 == "T":
                who = d1
        if p1 == "V" or p2 == "V":
            machine = True
        if p1 == "E":
            extensions.append(d1[1:])
        if p2 == "E":
            extensions.append(d2[1:])
    if first.internal or no_trunk:
        way, outcome, who = Direction.INTERNAL, Outcome.ANSWERED, None
    elif not first.inbound:
        way, outcome, who = Direction.OUTBOUND, Outcome.ANSWERED, None
    else:
        way = Direction.INBOUND
        outcome = Outcome.ANSWERED if who is not None else (
            Outcome.VOICEMAIL if machine else Outcome.MISSED)  # fmt: skip
    if way is not Direction.INBOUND and talk <= 0:
        outcome = Outcome.MISSED
    seconds = ring + talk + other
    if ring > MAX_CALL_SECONDS or talk > MAX_CALL_SECONDS or other > MAX_CALL_SECONDS:
        return None
    if seconds > MAX_CALL_SECONDS:
        return None
    started = first.started_at
    ended = started + timedelta(seconds=seconds)
    if ended > latest:
        return None
    if outcome is Outcome.MISSED and limit > 0 and ring < limit:
        outcome = Outcome.SHORT_ABANDON
    t = first.start_text  # YYYY/MM/DD HH:MM:SS -> YYYYMMDDTHHMMSS
    stamp = t[0:4] + t[5:7] + t[8:10] + "T" + t[11:13] + t[14:16] + t[17:19]
    return new_call_record(
        name, f"ipo-{first.call_id}-{stamp}", started, ended, way, outcome, first.caller or "",
        None, first.called or None, ring, talk, who,
        tuple(dict.fromkeys(extensions)) if len(extensions) > 1 else tuple(extensions),
    )  # fmt: skip
