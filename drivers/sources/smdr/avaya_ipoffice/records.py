"""One IP Office SMDR record read into a `Segment` (`read_segment`: one split, the
fields by index), and the tables both readings of the common record share (the
quick path of `feed` and the batch lane): Call Start hours already converted to
UTC, "mm:ss" offsets, small whole numbers, connected-time parts, durations."""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from drivers.sources.smdr.clock import hour_to_utc, make_date, to_utc
from drivers.sources.smdr.parsing import BadLine, ParseContext, hms_seconds, int_field, strip_host

MIN_FIELDS = 17
MAX_PENDING = 5000  # calls held for their last record, at most
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


# (call id, call start) -> (first received, segments), oldest first: the calls held
# for their last record (`IpOfficeParser.held_calls`)
HeldCalls = OrderedDict[tuple[str, str], tuple[datetime, list[Segment]]]


def read_segment(line: str, ctx: ParseContext) -> Segment | None:
    """The record's fields, or None for a header line. Raises BadLine.

    One `split` of the line; the fields are read by index. A Call Start in an hour
    already seen is checked and converted by two dict look-ups (no regex)."""
    fields = line.split(",")
    text = fields[0]
    hour = hour_starts.get((text[:13], ctx.tz)) if len(text) == 19 and text[13] == ":" else None
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
# converted once (`hour_starts`, bounded); the "mm:ss" below it comes from a table of the
# 3600 valid values. An hour whose UTC offset changes within it is never cached.
_MM_SS = {f"{m:02}:{s:02}": timedelta(minutes=m, seconds=s) for m in range(60) for s in range(60)}
hour_starts: dict[tuple[str, tzinfo], datetime] = {}


def _start_utc_first(start: re.Match[str], ctx: ParseContext) -> datetime:
    """The first Call Start seen in its local hour (or one not seen through the table)."""
    year, month, mday, hour, minute, second = map(int, start.groups())
    day = make_date(year, month, mday)
    if hour > 23 or minute > 59 or second > 59:
        raise BadLine("field_impossible", f"time {start[0][11:]!r} out of range")
    hour_start = hour_to_utc(day, hour, ctx.tz)
    if hour_start is None:  # the offset changes within this hour
        return to_utc(day, (hour, minute, second), ctx.tz)
    if len(hour_starts) >= 4096:
        hour_starts.clear()
    hour_starts[start[0][:13], ctx.tz] = hour_start
    return hour_start + timedelta(minutes=minute, seconds=second)


# The common record read in one pass (`quick_record`, the lane): small whole numbers and
# "hh:" by dict look-up (a key that is not exactly one of these is not the common case)
SECONDS = {str(n): float(n) for n in range(1000)}
HOLD = {"": 0.0, **SECONDS}
HOLD_N = {"": 0, **{str(n): n for n in range(1000)}}  # as whole numbers (`quick_segment`)
HH = {f"{h:02}": h * 3600 for h in range(100)}
MM_SS_SECONDS = {f"{m:02}:{s:02}": m * 60 + s for m in range(60) for s in range(60)}
# "mm:ss" of a Call Start -> (offset in the hour, "mmss" of the call id)
BELOW = {k: (v, k[:2] + k[3:]) for k, v in _MM_SS.items()}
# (local hour, zone) -> (its start in UTC, "YYYYMMDDTHH" of the call id), from `hour_starts`
quick_hours: dict[tuple[str, tzinfo], tuple[datetime, str]] = {}
spans: dict[float, timedelta] = {}  # whole seconds -> timedelta, bounded
NO_TRUNK = ("E", "V")  # party device prefixes that are not trunks


def quick_hour(key: tuple[str, tzinfo]) -> tuple[datetime, str] | None:
    hour = hour_starts.get(key)
    if hour is None:
        return None  # not seen yet: `read_segment` checks and converts it
    t = key[0]
    if len(quick_hours) >= 4096:
        quick_hours.clear()
    entry = quick_hours[key] = (hour, t[0:4] + t[5:7] + t[8:10] + "T" + t[11:13])
    return entry


def to_span(seconds: float) -> timedelta:
    span = spans.get(seconds)
    if span is None:
        span = timedelta(seconds=seconds)
        if len(spans) < 8192:
            spans[seconds] = span
    return span
