"""Avaya IP Office SMDR: comma-separated, no quoting, 17 to 35+ fields.

A call may span records sharing Call ID and Call Start; `Continuation` = 1 means
more follow. `feed()` holds those segments and emits one call when the record with
Continuation 0 arrives, or after `continuation_timeout_seconds` (outcome `unknown`
unless a person answered). Parties: `E<ext>` extension, `T<9000+n>` trunk, `V<...>`
voicemail/auto-attendant channel; sites list which V devices or called numbers are
auto-attendants (`auto_attendant:`), otherwise a V-only call counts as voicemail.
A call with no trunk party in any of its records (both parties `E` or `V` devices) is
internal, whatever its Direction and Is Internal columns say (an extension calling
voicemail, a transfer between two extensions): nobody outside called.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from agent.model import CallRecord, Direction, Evidence, Outcome, new_call_record
from drivers.sources.smdr.clock import hour_to_utc, make_date, to_utc
from drivers.sources.smdr.parsing import (
    CONTINUATION,
    IGNORED,
    MAX_CALL_SECONDS,
    BadLine,
    CallFacts,
    LineParser,
    ParseContext,
    ParsedLine,
    finish,
    hms_seconds,
    int_field,
    record_of,
    strip_host,
)

MIN_FIELDS = 17
MAX_PENDING = 5000
_START = re.compile(r"^(\d{4})/(\d{2})/(\d{2}) (\d{2}):(\d{2}):(\d{2})$")


@dataclass(slots=True)
class Segment:
    """One SMDR record: one leg of a call (not frozen: built once per line, hot path)."""

    start_text: str
    started_at: datetime
    connected: float
    ring: float
    hold_park: float
    caller: str
    inbound: bool
    internal: bool
    called: str
    call_id: str
    more: bool
    parties: tuple[tuple[str, str], ...]  # (device, name) for Party1, Party2

    @property
    def seconds(self) -> float:
        return self.connected + self.ring + self.hold_park


def read_segment(line: str, ctx: ParseContext) -> Segment | None:
    """The record's fields, or None for a header line. Raises BadLine.

    One `split` of the line; the fields are read by index. A Call Start in an hour
    already seen is checked and converted by two dict look-ups (no regex)."""
    fields = line.split(",")
    text = fields[0]
    hour = _hours.get((text[:13], ctx.tz)) if len(text) == 19 and text[13] == ":" else None
    below = _MM_SS.get(text[14:]) if hour is not None else None
    if hour is None or below is None:
        start = _START.match(text)
        if not start:
            if text.strip().lower() == "call start":
                return None
            raise BadLine("line_garbled", "does not start with a YYYY/MM/DD HH:MM:SS call start")
        started = _start_utc_first(start, ctx)
    else:
        started = hour + below
    if len(fields) < MIN_FIELDS:
        raise BadLine("line_truncated", f"{len(fields)} fields, at least {MIN_FIELDS} expected")
    direction = fields[4]
    if direction not in {"I", "O"}:
        direction = direction.strip()
        if direction not in ("I", "O"):
            raise BadLine("field_impossible", f"direction {direction!r} is neither I nor O")
    hold, park = fields[15], fields[16]
    return Segment(
        text,
        started,
        hms_seconds(fields[1], "connected time"),
        float(int_field(fields[2], "ring time")),
        (int_field(hold, "hold") if hold else 0) + (int_field(park, "park") if park else 0),
        strip_host(fields[3]),
        direction == "I",
        fields[8].strip() == "1",
        fields[5].strip(),
        str(int_field(fields[9], "call id")),
        fields[10].strip() == "1",
        ((fields[11].strip(), fields[12]), (fields[13].strip(), fields[14])),
    )


# Call Start -> UTC is split at the hour: records come in start order, so calls share
# their local hour ("YYYY/MM/DD HH") with the ones before. Each hour is checked and
# converted once (`_hours`, bounded); the "mm:ss" below it comes from a table of the
# 3600 valid values. An hour whose UTC offset changes within it is never cached.
_MM_SS = {f"{m:02}:{s:02}": timedelta(minutes=m, seconds=s) for m in range(60) for s in range(60)}
_hours: dict[tuple[str, tzinfo], datetime] = {}


def _start_utc_first(start: re.Match[str], ctx: ParseContext) -> datetime:
    """The first Call Start seen in its local hour (or one not seen through the table)."""
    year, month, mday, hour, minute, second = map(int, start.groups())
    day = make_date(year, month, mday)
    if hour > 23 or minute > 59 or second > 59:
        raise BadLine("field_impossible", f"time {start[0][11:]!r} out of range")
    hour_start = hour_to_utc(day, hour, ctx.tz)
    if hour_start is None:  # the offset changes within this hour
        return to_utc(day, (hour, minute, second), ctx.tz)
    if len(_hours) >= 4096:
        _hours.clear()
    _hours[start[0][:13], ctx.tz] = hour_start
    return hour_start + timedelta(minutes=minute, seconds=second)


def _person(device: str, ctx: ParseContext) -> bool:
    return device.startswith("E") and ctx.roles.role(device, device[1:]) is None


def _machine(device: str, ctx: ParseContext) -> bool:
    return device.startswith("V") or (
        device.startswith("E") and ctx.roles.role(device, device[1:]) is not None
    )


def _no_trunk(segments: list[Segment]) -> bool:
    """Every party of every record is an extension or a voicemail channel."""
    return all(d[:1] in ("E", "V") for seg in segments for d, _ in seg.parties)


def _answered(seg: Segment, ctx: ParseContext) -> str | None:
    """The extension that talked in this segment, or the forward target trunk."""
    if seg.connected <= 0:
        return None
    for device, _ in seg.parties:
        if _person(device, ctx):
            return device[1:]
    (d1, _), (d2, _) = seg.parties
    if d1.startswith("T") and d2.startswith("T"):
        return d1  # forwarded off switch (twinning, forward on no answer) and answered
    return None


def inbound_outcome(segments: list[Segment], ctx: ParseContext) -> tuple[Outcome, str | None]:
    """Call-level outcome: a person answered > a machine answered > nobody."""
    for seg in segments:
        who = _answered(seg, ctx)
        if who is not None:
            return Outcome.ANSWERED, who
    machines = [(d, s) for s in segments for d, _ in s.parties if _machine(d, ctx)]
    if machines:
        ids = [d for d, _ in machines] + [m[1:] for m, _ in machines]
        ids += [s.called for s in segments]
        return ctx.roles.role(*ids) or Outcome.VOICEMAIL, None
    return Outcome.MISSED, None


Values = tuple[
    str, datetime, Direction, Outcome, str, str, float, float, float,
    None, str | None, tuple[str, ...],
]  # fmt: skip


def call_facts(segments: list[Segment], ctx: ParseContext, complete: bool) -> CallFacts:
    return CallFacts(*call_values(segments, ctx, complete))


def call_values(segments: list[Segment], ctx: ParseContext, complete: bool) -> Values:
    """The call's facts in `CallFacts` order (a tuple: built once per call)."""
    first = segments[0]
    if first.internal or _no_trunk(segments):
        direction, outcome, who = Direction.INTERNAL, Outcome.ANSWERED, None
    elif not first.inbound:
        direction, outcome, who = Direction.OUTBOUND, Outcome.ANSWERED, None
    else:
        direction = Direction.INBOUND
        outcome, who = inbound_outcome(segments, ctx)
        if not complete and outcome is not Outcome.ANSWERED:
            outcome = Outcome.UNKNOWN  # the last record never came: do not guess
    if len(segments) == 1:
        ring, talk, other = first.ring, first.connected, first.hold_park
    else:
        ring = sum(s.ring for s in segments)
        talk = sum(s.connected for s in segments)
        other = sum(s.hold_park for s in segments)
    if direction is not Direction.INBOUND and talk <= 0:
        outcome = Outcome.MISSED
    extensions = [d[1:] for s in segments for d, _ in s.parties if d[:1] == "E"]
    t = first.start_text  # YYYY/MM/DD HH:MM:SS -> YYYYMMDDTHHMMSS
    stamp = t[0:4] + t[5:7] + t[8:10] + "T" + t[11:13] + t[14:16] + t[17:19]
    return (
        f"ipo-{first.call_id}-{stamp}", first.started_at, direction, outcome,
        first.caller, first.called, ring, talk, other, None, who,
        tuple(dict.fromkeys(extensions)) if len(extensions) > 1 else tuple(extensions),
    )  # fmt: skip


# The common record read in one pass (`quick_record`): small whole numbers and
# "hh:" by dict look-up (a key that is not exactly one of these is not the common case)
_SECONDS = {str(n): float(n) for n in range(1000)}
_HOLD = {"": 0.0, **_SECONDS}
_HH = {f"{h:02}": h * 3600 for h in range(100)}
_MM_SS_SECONDS = {f"{m:02}:{s:02}": m * 60 + s for m in range(60) for s in range(60)}
# "mm:ss" of a Call Start -> (offset in the hour, "mmss" of the call id)
_BELOW = {k: (v, k[:2] + k[3:]) for k, v in _MM_SS.items()}
# (local hour, zone) -> (its start in UTC, "YYYYMMDDTHH" of the call id), from `_hours`
_quick_hours: dict[tuple[str, tzinfo], tuple[datetime, str]] = {}
_spans: dict[float, timedelta] = {}  # whole seconds -> timedelta, bounded


def _quick_hour(key: tuple[str, tzinfo]) -> tuple[datetime, str] | None:
    hour = _hours.get(key)
    if hour is None:
        return None  # not seen yet: `read_segment` checks and converts it
    t = key[0]
    if len(_quick_hours) >= 4096:
        _quick_hours.clear()
    entry = _quick_hours[key] = (hour, t[0:4] + t[5:7] + t[8:10] + "T" + t[11:13])
    return entry


def _span(seconds: float) -> timedelta:
    span = _spans.get(seconds)
    if span is None:
        span = timedelta(seconds=seconds)
        if len(_spans) < 8192:
            _spans[seconds] = span
    return span


_NO_TRUNK = ("E", "V")


def quick_record(
    f: list[str], ctx: ParseContext, received_at: datetime, held: Mapping[tuple[str, str], object]
) -> CallRecord | None:
    """The call of a record that finishes a one-record call, when every field has its
    common shape (a Call Start in an hour already seen, small durations, I or O, a
    canonical Call ID, no earlier segment `held`, a clock not ahead); None otherwise,
    and `read_segment` reads the line the long way (and says what is wrong with it).
    Same record as the long way: tests/drivers/smdr/test_quick.py holds them equal
    over the fixtures and fuzzed lines. `f`: the line split at its commas."""
    if len(f) < MIN_FIELDS or f[10] != "0":
        return None
    text, conn, cid, direction, internal = f[0], f[1], f[9], f[4], f[8]
    key = (text[:13], ctx.tz)
    hour = _quick_hours.get(key) or _quick_hour(key)
    below = _BELOW.get(text[14:]) if len(text) == 19 and text[13] == ":" else None
    hh, mm_ss = _HH.get(conn[:2]), _MM_SS_SECONDS.get(conn[3:])
    ring, hold, park = _SECONDS.get(f[2]), _HOLD.get(f[15]), _HOLD.get(f[16])
    if (
        hour is None or below is None or hh is None or mm_ss is None or conn[2] != ":"
        or ring is None or hold is None or park is None
        or direction not in ("I", "O") or internal not in ("0", "1")
        or not (0 < len(cid) <= 12 and cid.isascii() and cid.isdigit()) or cid[0] == "0"
    ):  # fmt: skip
        return None
    if held and (cid, text) in held:
        return None  # the last segment of a call held so far
    started = hour[0] + below[0]
    talk = float(hh + mm_ss)
    ended = started + _span(ring + talk + (hold + park))
    if ended - received_at > ctx.clock_tolerance:
        return None  # pulled back, with a note: the long way
    d1, d2, called = f[11].strip(), f[13].strip(), f[5].strip()
    if d1[:1] in _NO_TRUNK and d2[:1] in _NO_TRUNK:
        return None  # no trunk party: internal whatever the columns say (the long way)
    who = None
    if internal == "1":
        out, outcome = Direction.INTERNAL, Outcome.ANSWERED if talk > 0 else Outcome.MISSED
    elif direction == "O":
        out, outcome = Direction.OUTBOUND, Outcome.ANSWERED if talk > 0 else Outcome.MISSED
    else:
        out = Direction.INBOUND
        outcome, who = _one_segment_outcome(talk, d1, d2, called, ctx)
    if outcome is Outcome.MISSED:
        limit = ctx.config.short_abandon_seconds
        if limit > 0 and ring < limit:
            outcome = Outcome.SHORT_ABANDON
    if d1[:1] == "E":
        extensions: tuple[str, ...] = (d1[1:], d2[1:]) if d2[:1] == "E" and d2 != d1 else (d1[1:],)
    else:
        extensions = (d2[1:],) if d2[:1] == "E" else ()
    return new_call_record(
        ctx.config.name, f"ipo-{cid}-{hour[1]}{below[1]}", started, ended, out, outcome,
        f[3].partition("@")[0].strip(), None, called or None, ring, talk, who, extensions,
    )  # fmt: skip


_HOLD_N = {"": 0, **{str(n): n for n in range(1000)}}


def quick_segment(f: list[str], ctx: ParseContext) -> Segment | None:
    """`read_segment` of a record whose every field has its common shape (as for
    `quick_record`, Continuation 0 or 1); None otherwise (`read_segment` reads it)."""
    if len(f) < MIN_FIELDS:
        return None
    text, conn, cid, direction, internal, more = f[0], f[1], f[9], f[4], f[8], f[10]
    key = (text[:13], ctx.tz)
    hour = _quick_hours.get(key) or _quick_hour(key)
    below = _BELOW.get(text[14:]) if len(text) == 19 and text[13] == ":" else None
    hh, mm_ss = _HH.get(conn[:2]), _MM_SS_SECONDS.get(conn[3:])
    ring, hold, park = _SECONDS.get(f[2]), _HOLD_N.get(f[15]), _HOLD_N.get(f[16])
    if (
        hour is None or below is None or hh is None or mm_ss is None or conn[2] != ":"
        or ring is None or hold is None or park is None
        or direction not in ("I", "O") or internal not in ("0", "1") or more not in ("0", "1")
        or not (0 < len(cid) <= 12 and cid.isascii() and cid.isdigit()) or cid[0] == "0"
    ):  # fmt: skip
        return None
    return Segment(
        text, hour[0] + below[0], float(hh + mm_ss), ring, hold + park,
        f[3].partition("@")[0].strip(), direction == "I", internal == "1", f[5].strip(), cid,
        more == "1", ((f[11].strip(), f[12]), (f[13].strip(), f[14])),
    )  # fmt: skip


def _one_segment_outcome(
    connected: float, d1: str, d2: str, called: str, ctx: ParseContext
) -> tuple[Outcome, str | None]:
    """`inbound_outcome` of a call of one segment with parties `d1`, `d2`."""
    if not ctx.roles.configured:
        if connected > 0:
            if d1[:1] == "E":
                return Outcome.ANSWERED, d1[1:]
            if d2[:1] == "E":
                return Outcome.ANSWERED, d2[1:]
            if d1[:1] == "T" and d2[:1] == "T":
                return Outcome.ANSWERED, d1
        if d1[:1] == "V" or d2[:1] == "V":
            return Outcome.VOICEMAIL, None
        return Outcome.MISSED, None
    if connected > 0:
        for device in (d1, d2):
            if _person(device, ctx):
                return Outcome.ANSWERED, device[1:]
        if d1.startswith("T") and d2.startswith("T"):
            return Outcome.ANSWERED, d1
    machines = [d for d in (d1, d2) if _machine(d, ctx)]
    if machines:
        ids = [*machines, *(m[1:] for m in machines), called]
        return ctx.roles.role(*ids) or Outcome.VOICEMAIL, None
    return Outcome.MISSED, None


class IpOfficeParser(LineParser):
    """Per line: the segment alone. Per call (`feed`): segments joined by Call ID."""

    quick = True  # False: every line the long way (the differential tests' reference)

    def __init__(self, ctx: ParseContext) -> None:
        super().__init__(ctx)
        # (call id, call start) -> (first received, segments), oldest first
        self._pending: OrderedDict[tuple[str, str], tuple[datetime, list[Segment]]] = OrderedDict()
        self.lane_hours: dict[str, tuple[datetime, str]] = {}  # see `read_lines`
        self.lane_talks: dict[str, float] = {}

    def parse(self, line: str, received_at: datetime) -> ParsedLine:
        seg = read_segment(line, self.ctx)
        if seg is None:
            return IGNORED
        if seg.more:
            return ParsedLine(CONTINUATION, seg.caller, seg.called)
        return finish(self.ctx, call_facts([seg], self.ctx, True), received_at)

    def feed(self, line: str, received_at: datetime) -> list[CallRecord]:
        if self.quick:
            fields = line.split(",")
            record = quick_record(fields, self.ctx, received_at, self._pending)
            if record is not None:
                return [record]
            seg = quick_segment(fields, self.ctx) or read_segment(line, self.ctx)
        else:
            seg = read_segment(line, self.ctx)
        if seg is None:
            return []
        return self._join(seg, received_at)

    def feed_lines(
        self, lines: Sequence[str], start: int, received_at: datetime, out: list[CallRecord]
    ) -> tuple[int, Exception | None]:
        if not self.quick:
            return super().feed_lines(lines, start, received_at, out)
        return read_lines(self, lines, start, received_at, out)

    def _join(self, seg: Segment, received_at: datetime) -> list[CallRecord]:
        """The call `seg` finishes, if any; a continuation is held until then."""
        key = (seg.call_id, seg.start_text)
        held = self._pending.pop(key, None) if self._pending else None
        if held is None and not seg.more:  # most calls: one record, nothing held
            return [self._emit([seg], received_at, complete=True)]
        first_seen, segments = held or (received_at, [])
        segments.append(seg)
        if seg.more:
            self._pending[key] = (first_seen, segments)
            return self._evict(received_at)
        return [self._emit(segments, received_at, complete=True)]

    def flush(self, now: datetime, *, everything: bool = False) -> list[CallRecord]:
        limit = timedelta(seconds=self.ctx.config.continuation_timeout_seconds)
        out: list[CallRecord] = []
        for key, (first_seen, segments) in list(self._pending.items()):
            if everything or now - first_seen >= limit:
                del self._pending[key]
                out.extend(self._release(segments, now))
        return out

    def pending(self) -> int:
        return len(self._pending)

    def _evict(self, now: datetime) -> list[CallRecord]:
        out: list[CallRecord] = []
        while len(self._pending) > MAX_PENDING:  # memory stays flat on a broken stream
            _, (_, segments) = self._pending.popitem(last=False)
            out.extend(self._release(segments, now))
        return out

    def _release(self, segments: list[Segment], now: datetime) -> list[CallRecord]:
        """A held call emitted without its last record; a bad one (its segments add up
        to the impossible) goes to `failed`, the other held calls go on."""
        try:
            return [self._emit(segments, now, complete=False)]
        except BadLine as err:
            self.failed.append(err)
            return []

    def _emit(self, segments: list[Segment], now: datetime, *, complete: bool) -> CallRecord:
        record, notes = record_of(self.ctx, now, *call_values(segments, self.ctx, complete))
        if notes:
            self.notes.extend(notes)
        return record


# The batch lane (`read_lines`): what `feed` gives, line by line, for the common
# record, with no call per line. Tables filled as the stream goes, bounded.
_LANE_MAX = 4096


class _Draft:
    """`CallRecord`'s slots without its frozen `__setattr__`, filled by plain stores
    and then given `CallRecord` as its class (same slots): what `new_call_record`
    does, without its two calls per record."""

    __slots__ = CallRecord.__slots__


def _lane_hour(
    hours: dict[str, tuple[datetime, str]], text: str, tz: tzinfo
) -> tuple[datetime, str] | None:
    """The start in UTC and the "-YYYYMMDDTHH" of the call id of a local hour
    "YYYY/MM/DD HH:" the long way has checked and converted (`_hours`), else None."""
    if len(text) < 14 or text[13] != ":":
        return None
    hour = _hours.get((text[:13], tz))
    if hour is None:
        return None
    if len(hours) >= _LANE_MAX:
        hours.clear()
    t = text
    entry = hours[t[:14]] = (hour, "-" + t[0:4] + t[5:7] + t[8:10] + "T" + t[11:13])
    return entry


def _lane_talk(talks: dict[str, float], conn: str) -> float | None:
    """A connected time "hh:mm:ss" in its common shape, in seconds, else None."""
    hh, mm_ss = _HH.get(conn[:2]), _MM_SS_SECONDS.get(conn[3:])
    if hh is None or mm_ss is None or conn[2:3] != ":":
        return None
    if len(talks) >= _LANE_MAX:
        talks.clear()
    talk = talks[conn] = float(hh + mm_ss)
    return talk


def read_lines(  # noqa: PLR0915 (one loop: a call per line costs what a record costs)
    parser: IpOfficeParser,
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
    name, tz, pending = ctx.config.name, ctx.tz, parser._pending
    latest = received_at + ctx.clock_tolerance
    limit = ctx.config.short_abandon_seconds
    hours, talks = parser.lane_hours, parser.lane_talks
    roles = ctx.roles.configured
    hour_of, talk_of = hours.get, talks.get
    below_of, seconds_of, hold_of, span_of = _BELOW.get, _SECONDS.get, _HOLD.get, _spans.get
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
                    ended = started + (span if span is not None else _span(seconds))
                    if ended <= latest:
                        p1, p2 = d1[:1], d2[:1]
                        e1 = d1[1:] if p1 == "E" else None  # the extension of a party
                        e2 = d2[1:] if p2 == "E" else None
                        who = None
                        if internal == "1" or (p1 in _NO_TRUNK and p2 in _NO_TRUNK):
                            way, outcome = internal_call, answered if talk > 0 else missed
                        elif direction == "O":
                            way, outcome = outbound, answered if talk > 0 else missed
                        else:
                            way = inbound
                            if roles:  # voicemail or auto-attendant devices listed
                                outcome, who = _one_segment_outcome(talk, d1, d2, f[5].strip(), ctx)
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
                    if more == "1":  # held until its last record (`_join`)
                        key = (cid, text)
                        held = pending.pop(key, None) if pending else None
                        if held is None:
                            pending[key] = (received_at, [seg])
                        else:
                            held[1].append(seg)
                            pending[key] = held
                        if len(pending) > MAX_PENDING:
                            out += parser._evict(received_at)
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
                        out += parser._join(seg, received_at)
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
        if p1 not in _NO_TRUNK or p2 not in _NO_TRUNK:
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
