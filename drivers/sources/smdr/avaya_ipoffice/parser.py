"""`IpOfficeParser`: IP Office records fed line by line (`feed`), segments of a
call held by Call ID and Call Start until its last record (or the timeout), and the
quick one-pass reading of a record in its common shape (`quick_record`,
`quick_segment`); batches go to the lane (`read_lines`)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

import drivers.sources.smdr.avaya_ipoffice.records as tables
from agent.model import CallRecord, Direction, Outcome, new_call_record
from drivers.sources.smdr.avaya_ipoffice.calls import call_facts, call_values, one_segment_outcome
from drivers.sources.smdr.avaya_ipoffice.lane import Parties, read_lines
from drivers.sources.smdr.avaya_ipoffice.records import (
    MAX_PENDING,
    MIN_FIELDS,
    NO_TRUNK,
    HeldCalls,
    Segment,
    quick_hour,
    read_segment,
    to_span,
)
from drivers.sources.smdr.parsing import (
    CONTINUATION,
    IGNORED,
    BadLine,
    LineParser,
    ParseContext,
    ParsedLine,
    finish,
    record_of,
)

# The tables read with `.get` on the hot path, bound here by assignment: CPython
# compiles `NAME.get(...)` on a name bound by an import as an attribute load that
# makes a bound method per call, not LOAD_METHOD (the cost of the split otherwise).
BELOW, HH, HOLD, HOLD_N, MM_SS_SECONDS, SECONDS, quick_hours = (
    tables.BELOW,
    tables.HH,
    tables.HOLD,
    tables.HOLD_N,
    tables.MM_SS_SECONDS,
    tables.SECONDS,
    tables.quick_hours,
)


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
    hour = quick_hours.get(key) or quick_hour(key)
    below = BELOW.get(text[14:]) if len(text) == 19 and text[13] == ":" else None
    hh, mm_ss = HH.get(conn[:2]), MM_SS_SECONDS.get(conn[3:])
    ring, hold, park = SECONDS.get(f[2]), HOLD.get(f[15]), HOLD.get(f[16])
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
    ended = started + to_span(ring + talk + (hold + park))
    if ended - received_at > ctx.clock_tolerance:
        return None  # pulled back, with a note: the long way
    d1, d2, called = f[11].strip(), f[13].strip(), f[5].strip()
    if d1[:1] in NO_TRUNK and d2[:1] in NO_TRUNK:
        return None  # no trunk party: internal whatever the columns say (the long way)
    who = None
    if internal == "1":
        out, outcome = Direction.INTERNAL, Outcome.ANSWERED if talk > 0 else Outcome.MISSED
    elif direction == "O":
        out, outcome = Direction.OUTBOUND, Outcome.ANSWERED if talk > 0 else Outcome.MISSED
    else:
        out = Direction.INBOUND
        outcome, who = one_segment_outcome(talk, d1, d2, called, ctx)
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


def quick_segment(f: list[str], ctx: ParseContext) -> Segment | None:
    """`read_segment` of a record whose every field has its common shape (as for
    `quick_record`, Continuation 0 or 1); None otherwise (`read_segment` reads it)."""
    if len(f) < MIN_FIELDS:
        return None
    text, conn, cid, direction, internal, more = f[0], f[1], f[9], f[4], f[8], f[10]
    key = (text[:13], ctx.tz)
    hour = quick_hours.get(key) or quick_hour(key)
    below = BELOW.get(text[14:]) if len(text) == 19 and text[13] == ":" else None
    hh, mm_ss = HH.get(conn[:2]), MM_SS_SECONDS.get(conn[3:])
    ring, hold, park = SECONDS.get(f[2]), HOLD_N.get(f[15]), HOLD_N.get(f[16])
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


class IpOfficeParser(LineParser):
    """Per line: the segment alone. Per call (`feed`): segments joined by Call ID."""

    quick = True  # False: every line the long way (the differential tests' reference)

    def __init__(self, ctx: ParseContext) -> None:
        super().__init__(ctx)
        self.held_calls: HeldCalls = OrderedDict()  # oldest first
        self.lane_hours: dict[str, tuple[datetime, str]] = {}  # see `read_lines`
        self.lane_talks: dict[str, float] = {}
        self.lane_parties: dict[tuple[str, str], Parties] = {}

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
            record = quick_record(fields, self.ctx, received_at, self.held_calls)
            if record is not None:
                return [record]
            seg = quick_segment(fields, self.ctx) or read_segment(line, self.ctx)
        else:
            seg = read_segment(line, self.ctx)
        if seg is None:
            return []
        return self.join(seg, received_at)

    def feed_lines(
        self, lines: Sequence[str], start: int, received_at: datetime, out: list[CallRecord]
    ) -> tuple[int, Exception | None]:
        if not self.quick:
            return super().feed_lines(lines, start, received_at, out)
        return read_lines(self, lines, start, received_at, out)

    def join(self, seg: Segment, received_at: datetime) -> list[CallRecord]:
        """The call `seg` finishes, if any; a continuation is held until then."""
        key = (seg.call_id, seg.start_text)
        held = self.held_calls.pop(key, None) if self.held_calls else None
        if held is None and not seg.more:  # most calls: one record, nothing held
            return [self._emit([seg], received_at, complete=True)]
        first_seen, segments = held or (received_at, [])
        segments.append(seg)
        if seg.more:
            self.held_calls[key] = (first_seen, segments)
            return self.evict(received_at)
        return [self._emit(segments, received_at, complete=True)]

    def flush(self, now: datetime, *, everything: bool = False) -> list[CallRecord]:
        limit = timedelta(seconds=self.ctx.config.continuation_timeout_seconds)
        out: list[CallRecord] = []
        for key, (first_seen, segments) in list(self.held_calls.items()):
            if everything or now - first_seen >= limit:
                del self.held_calls[key]
                out.extend(self._release(segments, now))
        return out

    def pending(self) -> int:
        return len(self.held_calls)

    def evict(self, now: datetime) -> list[CallRecord]:
        out: list[CallRecord] = []
        while len(self.held_calls) > MAX_PENDING:  # memory stays flat on a broken stream
            _, (_, segments) = self.held_calls.popitem(last=False)
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
