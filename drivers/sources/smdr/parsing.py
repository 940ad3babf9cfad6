"""What every family parser shares: the per-line result, the bad-line error, the
facts a family extracts from a record and how they become a `CallRecord`.

Pure: no I/O, no clock. A family module subclasses `LineParser`, implements
`parse()` for one decoded line and, if its calls span several records, overrides
`feed()` and `flush()`.

Per-line `classification` uses the fixtures' vocabulary: an `Outcome` value for an
inbound call (before the short-abandon policy), `internal`, `outbound`,
`continuation` (a non-final segment) or `ignore` (headers, non-call lines).
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any, cast

from agent.model import CallRecord, Direction, Outcome, new_call_record
from drivers.sources.smdr.config import SmdrConfig

IGNORE = "ignore"
CONTINUATION = "continuation"

# Bounds on what a record may say: a PBX prints durations of hours and dates of this
# century; anything past these is line noise or a corrupt record, not a call.
MAX_CALL_SECONDS = 30 * 24 * 3600  # one duration field, and a whole call
MAX_NUMBER_DIGITS = 12  # a numeric field (seconds, counts, call ids)


class BadLine(Exception):
    """A line that cannot be read. `reason` is the counter name (`line_garbled`,
    `line_truncated`, `field_impossible`, `record_unknown`)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class ParsedLine:
    """One line read on its own. `record` is the call this line finishes, if any."""

    classification: str
    caller: str | None = None
    dialed: str | None = None
    record: CallRecord | None = None
    notes: tuple[str, ...] = ()  # counter names of oddities that did not stop the line


IGNORED = ParsedLine(IGNORE)


class DeviceRoles:
    """Which devices, extensions or called numbers are voicemail or auto-attendant."""

    def __init__(self, voicemail: tuple[str, ...], auto_attendant: tuple[str, ...]) -> None:
        self._vm = _patterns(voicemail)
        self._aa = _patterns(auto_attendant)
        self.configured = self._vm is not None or self._aa is not None

    def role(self, *ids: str | None) -> Outcome | None:
        """ABANDONED_IVR if any id is an auto-attendant, VOICEMAIL if a mailbox."""
        if self._aa is None and self._vm is None:
            return None  # no roles configured: asked per party on the hot path
        present = [i for i in ids if i]
        if self._aa and any(self._aa.match(i) for i in present):
            return Outcome.ABANDONED_IVR
        if self._vm and any(self._vm.match(i) for i in present):
            return Outcome.VOICEMAIL
        return None


def _patterns(globs: tuple[str, ...]) -> re.Pattern[str] | None:
    if not globs:
        return None
    return re.compile("|".join(fnmatch.translate(g) for g in globs))


@dataclass(frozen=True, slots=True)
class ParseContext:
    """Everything a parser needs, fixed at start: no clock, no I/O."""

    config: SmdrConfig
    tz: tzinfo
    roles: DeviceRoles
    clock_tolerance: timedelta  # config.clock_tolerance_seconds, built once

    @classmethod
    def build(cls, config: SmdrConfig, tz: tzinfo) -> ParseContext:
        roles = DeviceRoles(config.voicemail, config.auto_attendant)
        return cls(config, tz, roles, timedelta(seconds=config.clock_tolerance_seconds))


@dataclass(slots=True)
class CallFacts:
    """What a family read from a record, in the shared vocabulary (not frozen: one
    is built per line on the hot path and never shared)."""

    call_id: str
    started_at: datetime
    direction: Direction
    outcome: Outcome
    caller: str | None
    dialed: str | None
    ring_seconds: float = 0.0
    talk_seconds: float = 0.0
    other_seconds: float = 0.0
    caller_name: str | None = None
    answered_by: str | None = None
    extensions: tuple[str, ...] = ()
    ended_at: datetime | None = None

    @property
    def classification(self) -> str:
        return self.outcome.value if self.direction is Direction.INBOUND else self.direction


def facts_of(
    call_id: str,
    started: datetime,
    direction: Direction,
    *,
    caller: str | None,
    dialed: str | None = None,
    station: str | None = None,
    outcome: Outcome | None = None,
    ring: float = 0.0,
    talk: float = 0.0,
    caller_name: str | None = None,
    extensions: tuple[str, ...] | None = None,
) -> CallFacts:
    """The facts of one record, built the same way by every family: `station` is the
    extension the record names as taking the call; it is `answered_by` when the call
    was answered, and the one extension listed unless `extensions` says otherwise.
    Without `outcome`, a call is answered when it talked (placed calls)."""
    if outcome is None:
        outcome = Outcome.ANSWERED if talk > 0 else Outcome.MISSED
    answered = outcome is Outcome.ANSWERED
    return CallFacts(
        call_id=call_id,
        started_at=started,
        direction=direction,
        outcome=outcome,
        caller=caller,
        dialed=dialed,
        ring_seconds=ring,
        talk_seconds=talk,
        caller_name=caller_name,
        answered_by=station if answered else None,
        extensions=((station,) if station else ()) if extensions is None else extensions,
    )


def finish(ctx: ParseContext, facts: CallFacts, received_at: datetime) -> ParsedLine:
    """Build the line result and its `CallRecord` (short-abandon and clock checks)."""
    record, notes = to_record(ctx, facts, received_at)
    line: Any = object.__new__(_LineDraft)
    line.classification, line.caller, line.dialed = facts.classification, facts.caller, facts.dialed
    line.record, line.notes = record, notes
    line.__class__ = ParsedLine
    return cast(ParsedLine, line)


class _LineDraft:
    """`ParsedLine`'s slots without its frozen `__setattr__`: `finish` fills them by
    plain stores and gives it `ParsedLine` as its class (a frozen dataclass stores
    each field through `object.__setattr__`, once per line)."""

    __slots__ = ParsedLine.__slots__


def to_record(
    ctx: ParseContext, facts: CallFacts, received_at: datetime
) -> tuple[CallRecord, tuple[str, ...]]:
    """The `CallRecord` and the notes (`time_in_future`) of `finish`, without the line
    result: what `feed()` needs."""
    return record_of(
        ctx, received_at, facts.call_id, facts.started_at, facts.direction, facts.outcome,
        facts.caller, facts.dialed, facts.ring_seconds, facts.talk_seconds,
        facts.other_seconds, facts.caller_name, facts.answered_by, facts.extensions,
        facts.ended_at,
    )  # fmt: skip


def record_of(
    ctx: ParseContext,
    received_at: datetime,
    call_id: str,
    started: datetime,
    direction: Direction,
    outcome: Outcome,
    caller: str | None,
    dialed: str | None,
    ring: float,
    talk: float,
    other: float,
    caller_name: str | None,
    answered_by: str | None,
    extensions: tuple[str, ...],
    ended: datetime | None = None,
) -> tuple[CallRecord, tuple[str, ...]]:
    """`to_record` from the facts as plain values: a family whose call is finished by
    the line it is reading builds no `CallFacts` (positional: the hot path)."""
    if not (0 <= ring <= MAX_CALL_SECONDS and 0 <= talk <= MAX_CALL_SECONDS
            and 0 <= other <= MAX_CALL_SECONDS):  # fmt: skip
        raise BadLine("field_impossible", f"a duration is over {MAX_CALL_SECONDS} seconds")
    if ended is None:
        ended = started + timedelta(seconds=ring + talk + other)
    if ended < started:
        raise BadLine("field_impossible", "the call ends before it starts")
    if (ended - started).total_seconds() > MAX_CALL_SECONDS:
        raise BadLine("field_impossible", f"the call lasts over {MAX_CALL_SECONDS} seconds")
    notes: tuple[str, ...] = ()
    if ended - received_at > ctx.clock_tolerance:
        shift = ended - received_at  # a finished call cannot end in the future
        started, ended, notes = started - shift, received_at, ("time_in_future",)
    if outcome is Outcome.MISSED:  # only a missed call can be a short abandon
        outcome = short_abandon(ctx, outcome, ring)
    record = new_call_record(
        ctx.config.name, call_id, started, ended, direction, outcome, caller or "",
        caller_name or None, dialed or None, ring, talk, answered_by, extensions,
    )  # fmt: skip
    return record, notes


def short_abandon(ctx: ParseContext, outcome: Outcome, ring_seconds: float) -> Outcome:
    limit = ctx.config.short_abandon_seconds
    if outcome is Outcome.MISSED and limit > 0 and ring_seconds < limit:
        return Outcome.SHORT_ABANDON
    return outcome


def content_id(prefix: str, line: str) -> str:
    """A call id stable across re-sends: a hash of the record with spacing normalised."""
    digest = hashlib.blake2b(" ".join(line.split()).encode(), digest_size=10).hexdigest()
    return f"{prefix}-{digest}"


def strip_host(number: str) -> str:
    """`5145551234@10.0.0.1` -> `5145551234` (SIP caller IDs on IP Office)."""
    return number.partition("@")[0].strip()


def plain_csv(line: str, delimiter: str = ",") -> list[str] | None:
    """The fields of a CSV line that holds no quote, line end or NUL (nearly every
    SMDR line): one `str.split`, what `csv.reader` would give. None: let the csv
    module read it (quoted fields, an empty line, its errors)."""
    if line and '"' not in line and "\r" not in line and "\n" not in line and "\0" not in line:
        return line.split(delimiter)
    return None


_HMS = re.compile(r"^(\d{1,4}):([0-5]\d):([0-5]\d)$")


def hms_seconds(text: str, what: str) -> float:
    """`hh:mm:ss` (hours may take 4 digits) -> seconds; BadLine if impossible."""
    if len(text) == 8 and text[2] == ":" and text[5] == ":" and text.isascii():
        try:
            h, m, s = int(text[:2]), int(text[3:5]), int(text[6:])
            if m < 60 and s < 60:
                return float(h * 3600 + m * 60 + s)
        except ValueError:
            pass
    match = _HMS.match(text.strip())
    if not match:
        raise BadLine("field_impossible", f"{what} {text.strip()!r} is not hh:mm:ss")
    h, m, s = (int(g) for g in match.groups())
    return float(h * 3600 + m * 60 + s)


def int_field(text: str, what: str) -> int:
    """A decimal field of at most `MAX_NUMBER_DIGITS` ASCII digits; BadLine otherwise."""
    if text.isascii() and text.isdigit() and len(text) <= MAX_NUMBER_DIGITS:
        return int(text)  # the common case, no copy
    value = text.strip()
    if not (value.isascii() and value.isdigit()):
        raise BadLine("field_impossible", f"{what} {value[:20]!r} is not a number")
    if len(value) > MAX_NUMBER_DIGITS:
        raise BadLine("field_impossible", f"{what} has {len(value)} digits")
    return int(value)


class LineParser(ABC):
    """A family parser. `parse` reads one line alone; `feed` also joins calls that
    span records; `flush(now)` releases joins whose last record never came."""

    def __init__(self, ctx: ParseContext) -> None:
        self.ctx = ctx
        self.notes: list[str] = []  # oddities of fed lines (counter names), drained by caller
        self.failed: list[BadLine] = []  # held calls that turned out bad, drained by caller

    @abstractmethod
    def parse(self, line: str, received_at: datetime) -> ParsedLine:
        """Read one decoded line (no line ending). Raises `BadLine`."""

    def feed(self, line: str, received_at: datetime) -> list[CallRecord]:
        parsed = self.parse(line, received_at)
        if parsed.notes:
            self.notes.extend(parsed.notes)
        return [parsed.record] if parsed.record is not None else []

    def feed_lines(
        self, lines: Sequence[str], start: int, received_at: datetime, out: list[CallRecord]
    ) -> tuple[int, Exception | None]:
        """`feed` of `lines[start:]` in order, the calls appended to `out`, up to the
        first line the caller must look at: one that raised (`BadLine`, or the
        arithmetic, value or lookup error of a parser bug), or one that left `notes`
        or `failed`. Returns where to go on and that line's error (the line at
        `stop - 1`). A family overrides it with a loop that reads the common record
        without a call per line; what it gives is what `feed` line by line gives."""
        feed = self.feed
        for i in range(start, len(lines)):
            try:
                out += feed(lines[i], received_at)
            except (BadLine, ArithmeticError, ValueError, LookupError) as err:
                return i + 1, err
            if self.notes or self.failed:
                return i + 1, None
        return len(lines), None

    def flush(self, now: datetime, *, everything: bool = False) -> list[CallRecord]:
        """Calls held for a continuation older than the timeout (all if `everything`)."""
        return []

    def pending(self) -> int:
        """How many calls are waiting for their last record."""
        return 0
