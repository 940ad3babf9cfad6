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
    from `held_calls` as `join` would, keeps its own tables in `lane_hours`,
    `lane_talks` and `lane_parties` (bounded), and hands every line it does not read
    itself to `feed` or `join`; it stops after a line that left `notes` or `failed`."""

    ctx: ParseContext
    notes: list[str]
    failed: list[BadLine]
    held_calls: HeldCalls
    lane_hours: dict[str, tuple[datetime, str]]
    lane_talks: dict[str, float]
    lane_parties: dict[tuple[str, str], Parties]

    def feed(self, line: str, received_at: datetime) -> list[CallRecord]:
        """The calls `line` finishes. Raises `BadLine`."""

    def join(self, seg: Segment, received_at: datetime) -> list[CallRecord]:
        """The call `seg` finishes, if any; a continuation is held until then."""

    def evict(self, now: datetime) -> list[CallRecord]:
        """The oldest held calls, released while more than `MAX_PENDING` are held."""


_LANE_MAX = 4096  # entries of each table the lane fills as the stream goes

# Enum members read once: in CPython 3.11 `Outcome.MISSED` goes through the enum
# type's `__getattr__`, about as costly as building a record field
INBOUND, OUTBOUND, INTERNAL = Direction.INBOUND, Direction.OUTBOUND, Direction.INTERNAL
ANSWERED, MISSED, VOICEMAIL = Outcome.ANSWERED, Outcome.MISSED, Outcome.VOICEMAIL
SHORT_ABANDON, LIVE = Outcome.SHORT_ABANDON, Evidence.LIVE


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


# (Party1 Device, Party2 Device) as read -> what a one-record call needs of them:
# both devices stripped, no trunk party (internal), who talked when the call talked
# and nobody is a voicemail or auto-attendant by role, the outcome of an inbound call
# nobody talked on (a `V` channel: voicemail), the extensions
Parties = tuple[str, str, bool, str | None, Outcome, tuple[str, ...]]


def parties_of(d1: str, d2: str) -> Parties:
    """The `Parties` of two stripped device fields: the one rule of who talked, which
    extensions took part and what silence means, for a record and for each segment
    of a longer call (`_lane_call`)."""
    p1, p2 = d1[:1], d2[:1]
    e1 = d1[1:] if p1 == "E" else None  # the extension of a party
    e2 = d2[1:] if p2 == "E" else None
    if e1 is not None:
        talker: str | None = e1
        extensions: tuple[str, ...] = (e1, e2) if e2 is not None and d2 != d1 else (e1,)
    else:
        talker = e2 if e2 is not None else d1 if p1 == "T" and p2 == "T" else None
        extensions = (e2,) if e2 is not None else ()
    silent = Outcome.VOICEMAIL if p1 == "V" or p2 == "V" else Outcome.MISSED
    return d1, d2, p1 in NO_TRUNK and p2 in NO_TRUNK, talker, silent, extensions


def _lane_parties(table: dict[tuple[str, str], Parties], raw1: str, raw2: str) -> Parties:
    """`parties_of` two device fields as read, computed once per pair (a site has a
    few extensions and trunks) and kept in `table` (bounded)."""
    if len(table) >= _LANE_MAX:
        table.clear()
    entry = table[raw1, raw2] = parties_of(raw1.strip(), raw2.strip())
    return entry


def _lane_learn(
    parser: LaneParser, f: list[str]
) -> tuple[tuple[datetime, str], tuple[timedelta, str], float, float, float, Parties] | None:
    """The Call Start hour and offset, connected, ring and hold + park times and
    parties of a record the lane's tables did not all answer for, each added to its
    table when it has its common shape; None when one does not (or the Call Start's
    hour is new: the long way checks and converts it first)."""
    if len(f) < MIN_FIELDS:
        return None
    text, conn = f[0], f[1]
    hour = parser.lane_hours.get(text[:14]) or _lane_hour(parser.lane_hours, text, parser.ctx.tz)
    talk = parser.lane_talks.get(conn)
    if talk is None:
        talk = _lane_talk(parser.lane_talks, conn)
    below, ring = BELOW.get(text[14:]), SECONDS.get(f[2])
    hold, park = HOLD.get(f[15]), HOLD.get(f[16])
    if hour is None or below is None or talk is None or ring is None:
        return None
    if hold is None or park is None:
        return None
    parties = parser.lane_parties
    party = parties.get((f[11], f[13]))
    if party is None:
        party = _lane_parties(parties, f[11], f[13])
    return hour, below, talk, ring, hold + park, party


def _long_way(
    parser: LaneParser, line: str, received_at: datetime, out: list[CallRecord]
) -> tuple[bool, Exception | None]:
    """`feed` of a line the lane does not read itself: whether to stop after it
    (it raised, or left notes or failures), and its error."""
    try:
        out += parser.feed(line, received_at)
    except (BadLine, ArithmeticError, ValueError, LookupError) as err:
        return True, err
    return bool(parser.notes or parser.failed), None


def read_lines(  # noqa: PLR0915 (one loop: a call per line costs what a record costs)
    parser: LaneParser,
    lines: Sequence[str],
    start: int,
    received_at: datetime,
    out: list[CallRecord],
) -> tuple[int, Exception | None]:
    """`LineParser.feed_lines` for IP Office: a record whose every field has its
    common shape (as for `quick_record`) is read here in one pass: a one-record call
    becomes its `CallRecord` in place, a segment of a longer call is held or joined
    as `feed` does (`_lane_segment`); any other line goes to `feed` (`_long_way`).
    Fields are read through tables by subscript (the common values, and what the
    stream has shown so far: hours, connected times, pairs of parties), a miss sends
    the line to `_lane_learn`. tests/drivers/smdr/test_quick.py holds it equal to
    the long way."""
    ctx = parser.ctx
    name, pending, roles = ctx.config.name, parser.held_calls, ctx.roles.configured
    latest = received_at + ctx.clock_tolerance
    limit = ctx.config.short_abandon_seconds
    hours, talks, parties = parser.lane_hours, parser.lane_talks, parser.lane_parties
    draft, final, append = _Draft, CallRecord, out.append
    for i in range(start, len(lines)):
        line = lines[i]
        f = line.split(",", 17)
        text = f[0]
        try:  # the fields by table (a subscript costs less than a `.get` call)
            hour, below, talk = hours[text[:14]], BELOW[text[14:]], talks[f[1]]
            ring, hold_park = SECONDS[f[2]], HOLD[f[15]] + HOLD[f[16]]
            party = parties[f[11], f[13]]
        except LookupError:  # a short line, an odd value, or one new to the tables
            known = _lane_learn(parser, f)
            if known is None:
                stop, err = _long_way(parser, line, received_at, out)
                if stop:
                    return i + 1, err
                continue
            hour, below, talk, ring, hold_park, party = known
        cid, direction, internal, more = f[9], f[4], f[8], f[10]
        if (
            direction in {"I", "O"} and internal in {"0", "1"}
            and 0 < len(cid) <= 12 and cid.isascii() and cid.isdigit() and cid[0] != "0"
        ):  # fmt: skip
            started = hour[0] + below[0]
            if more == "0" and not (pending and (cid, text) in pending):
                seconds = ring + talk + hold_park
                span = spans.get(seconds)
                ended = started + (span if span is not None else to_span(seconds))
                if ended <= latest:
                    d1, d2, no_trunk, talker, silent, extensions = party
                    who = None
                    if internal == "1" or no_trunk:
                        way, outcome = INTERNAL, ANSWERED if talk > 0.0 else MISSED
                    elif direction == "O":
                        way, outcome = OUTBOUND, ANSWERED if talk > 0.0 else MISSED
                    else:
                        way = INBOUND
                        if roles:  # voicemail or auto-attendant devices listed
                            outcome, who = one_segment_outcome(talk, d1, d2, f[5].strip(), ctx)
                        elif talk > 0.0 and talker is not None:
                            outcome, who = ANSWERED, talker
                        else:
                            outcome = silent
                    if outcome is MISSED and limit > 0.0 and ring < limit:
                        outcome = SHORT_ABANDON
                    caller = f[3]
                    if "@" in caller:
                        caller = caller.partition("@")[0]
                    called = f[5].strip()
                    r: Any = draft()
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
                    r.evidence = LIVE
                    r.__class__ = final
                    append(r)
                    continue
            elif more in {"0", "1"}:
                seg = Segment(
                    text, started, talk, ring, hold_park, strip_host(f[3]),
                    direction == "I", internal == "1", f[5].strip(), cid, more == "1",
                    ((party[0], f[12]), (party[1], f[14])),
                )  # fmt: skip
                call_id = f"ipo-{cid}{hour[1]}{below[1]}"
                stop, err = _lane_segment(parser, seg, call_id, received_at, latest, out)
                if stop:
                    return i + 1, err
                continue
        stop, err = _long_way(parser, line, received_at, out)
        if stop:
            return i + 1, err
    return len(lines), None


def _lane_segment(
    parser: LaneParser, seg: Segment, call_id: str, received_at: datetime, latest: datetime,
    out: list[CallRecord],
) -> tuple[bool, Exception | None]:  # fmt: skip
    """A segment the lane read, held (Continuation 1) or joined to the call it
    finishes as `join` does, `call_id` that call's id; the call's record appended to
    `out`. Whether to stop after this line, and the error of `join` if any."""
    pending = parser.held_calls
    key = (seg.call_id, seg.start_text)
    if seg.more:  # held until its last record (`join`)
        held = pending.pop(key, None) if pending else None
        if held is None:
            pending[key] = (received_at, [seg])
        else:
            held[1].append(seg)
            pending[key] = held
        if len(pending) > MAX_PENDING:
            out += parser.evict(received_at)
            return bool(parser.notes or parser.failed), None
        return False, None
    held = pending.pop(key, None)
    if held is not None:  # the last record of a held call
        segments = held[1]
        segments.append(seg)
        ctx = parser.ctx
        record = None if ctx.roles.configured else _lane_call(
            segments, call_id, ctx.config.name, latest, ctx.config.short_abandon_seconds,
            parser.lane_parties,
        )  # fmt: skip
        if record is not None:
            out.append(record)
            return False, None
        pending[key] = held  # the long way reads it again
        segments.pop()
    try:
        out += parser.join(seg, received_at)
    except (BadLine, ArithmeticError, ValueError, LookupError) as err:
        return True, err
    return bool(parser.notes or parser.failed), None


def _lane_call(
    segments: list[Segment], call_id: str, name: str, latest: datetime, limit: float,
    parties: dict[tuple[str, str], Parties],
) -> CallRecord | None:  # fmt: skip
    """`call_values` and `record_of` of a complete call whose segments the batch lane
    read (no device roles), `call_id` its id (`ipo-<Call ID>-<Call Start>`): one pass
    over the segments, each segment's devices read through the lane's `parties`
    table (their stripped fields are the keys of the common, unpadded ones). None
    when the call is not in its common shape (a bound crossed, a clock ahead): the
    long way says why."""
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
        party = parties.get((d1, d2)) or _lane_parties(parties, d1, d2)
        _, _, internal, talker, silent, taking_part = party
        no_trunk = no_trunk and internal
        if who is None and seg.connected > 0.0:
            who = talker
        machine = machine or silent is VOICEMAIL
        extensions += taking_part
    if first.internal or no_trunk:
        way, outcome, who = INTERNAL, ANSWERED, None
    elif not first.inbound:
        way, outcome, who = OUTBOUND, ANSWERED, None
    else:
        way = INBOUND
        outcome = ANSWERED if who is not None else VOICEMAIL if machine else MISSED
    if way is not INBOUND and talk <= 0.0:
        outcome = MISSED
    seconds = ring + talk + other
    if ring > MAX_CALL_SECONDS or talk > MAX_CALL_SECONDS or other > MAX_CALL_SECONDS:
        return None
    if seconds > MAX_CALL_SECONDS:
        return None
    started = first.started_at
    ended = started + to_span(seconds)
    if ended > latest:
        return None
    if outcome is MISSED and limit > 0 and ring < limit:
        outcome = SHORT_ABANDON
    return new_call_record(
        name, call_id, started, ended, way, outcome, first.caller or "", None,
        first.called or None, ring, talk, who,
        tuple(dict.fromkeys(extensions)) if len(extensions) > 1 else tuple(extensions),
    )  # fmt: skip
