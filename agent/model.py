"""The shared vocabulary: what a call was, what we decided, what a sender answered.

Every layer speaks these types: sources produce `CallRecord`s, the policy returns a
`Decision`, senders return a `SendResult`, every driver reports a `Health`. The string
values of the enums are the ones stored in SQLite, written in logs and served by the
status API, so they never change meaning.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum


class Outcome(StrEnum):
    """How an inbound call ended, one value for every PBX."""

    ANSWERED = "answered"
    MISSED = "missed"
    VOICEMAIL = "voicemail"
    ABANDONED_IVR = "abandoned_ivr"
    ABANDONED_QUEUE = "abandoned_queue"
    BUSY = "busy"
    SHORT_ABANDON = "short_abandon"
    UNKNOWN = "unknown"

    @property
    def unanswered(self) -> bool:
        """True for the outcomes that count as a missed call in the reports."""
        return self in UNANSWERED


UNANSWERED = frozenset(
    {
        Outcome.MISSED,
        Outcome.VOICEMAIL,
        Outcome.ABANDONED_IVR,
        Outcome.ABANDONED_QUEUE,
        Outcome.BUSY,
    }
)


class Evidence(StrEnum):
    """What a call record is built from: every event seen (`live`), a call adopted in
    progress (`partial`), or the PBX's own CDR/CEL rows read after downtime (`cdr`)."""

    LIVE = "live"
    PARTIAL = "partial"
    CDR = "cdr"


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"
    INTERNAL = "internal"


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One finished call, normalised by its source.

    Times are timezone-aware UTC. `caller_raw` is what the PBX delivered; `caller_e164`
    is filled by the pipeline when the source leaves it empty. For an outbound call the
    customer is `dialed`. `extensions` lists the extensions or ring groups that rang,
    in order, for department routing. Department and after-hours are decided by the
    pipeline, never by sources.
    """

    source: str
    call_id: str
    started_at: datetime
    ended_at: datetime
    direction: Direction
    outcome: Outcome
    caller_raw: str = ""
    caller_e164: str | None = None
    caller_name: str | None = None
    dialed: str | None = None
    queue: str | None = None
    ivr_path: str = ""
    ring_seconds: float = 0.0
    ivr_seconds: float = 0.0
    queue_seconds: float = 0.0
    talk_seconds: float = 0.0
    answered_by: str | None = None
    extensions: tuple[str, ...] = ()
    evidence: Evidence = Evidence.LIVE

    @property
    def remote_raw(self) -> str:
        """The customer's number as the PBX gave it: caller inbound, dialled outbound."""
        if self.direction is Direction.OUTBOUND:
            return self.dialed or ""
        return self.caller_raw

    @property
    def duration_seconds(self) -> float:
        return max(0.0, (self.ended_at - self.started_at).total_seconds())


class _RecordDraft:
    """`CallRecord`'s slots without the frozen `__setattr__`: filled by plain stores,
    then given `CallRecord` as its class (same slots, same layout). The frozen
    dataclass `__init__` stores each of its 19 fields through `object.__setattr__`,
    which is most of what a line-oriented source spends per call."""

    __slots__ = CallRecord.__slots__

    def __init__(
        self,
        source: str,
        call_id: str,
        started_at: datetime,
        ended_at: datetime,
        direction: Direction,
        outcome: Outcome,
        caller_raw: str,
        caller_name: str | None,
        dialed: str | None,
        ring_seconds: float,
        talk_seconds: float,
        answered_by: str | None,
        extensions: tuple[str, ...],
    ) -> None:
        self.source = source
        self.call_id = call_id
        self.started_at = started_at
        self.ended_at = ended_at
        self.direction = direction
        self.outcome = outcome
        self.caller_raw = caller_raw
        self.caller_e164 = None
        self.caller_name = caller_name
        self.dialed = dialed
        self.queue = None
        self.ivr_path = ""
        self.ring_seconds = ring_seconds
        self.ivr_seconds = 0.0
        self.queue_seconds = 0.0
        self.talk_seconds = talk_seconds
        self.answered_by = answered_by
        self.extensions = extensions
        self.evidence = Evidence.LIVE


def new_call_record(
    source: str,
    call_id: str,
    started_at: datetime,
    ended_at: datetime,
    direction: Direction,
    outcome: Outcome,
    caller_raw: str,
    caller_name: str | None,
    dialed: str | None,
    ring_seconds: float,
    talk_seconds: float,
    answered_by: str | None,
    extensions: tuple[str, ...],
) -> CallRecord:
    """The same `CallRecord` as the keyword constructor with these fields (the others
    at their defaults), about five times cheaper: for sources that build one per line
    (SMDR). Equal, hashable and frozen like any other; tests/test_model pins that."""
    draft = _RecordDraft(
        source, call_id, started_at, ended_at, direction, outcome, caller_raw,
        caller_name, dialed, ring_seconds, talk_seconds, answered_by, extensions,
    )  # fmt: skip
    draft.__class__ = CallRecord  # type: ignore[assignment]
    return draft  # type: ignore[return-value]


class MessageState(StrEnum):
    """Life of an outbox row.

    pending -> sending -> sent | retry_wait | failed | unknown; pending or retry_wait
    -> suppressed when the policy withdraws it (recovered, opted out, too old).
    """

    PENDING = "pending"
    SENDING = "sending"
    RETRY_WAIT = "retry_wait"
    SENT = "sent"
    FAILED = "failed"
    SUPPRESSED = "suppressed"
    UNKNOWN = "unknown"


OPEN_STATES = frozenset({MessageState.PENDING, MessageState.RETRY_WAIT})


@dataclass(frozen=True, slots=True)
class Message:
    """One outbox row as the dispatcher sees it."""

    id: int
    call_id: int | None
    to_e164: str
    department: str
    template: str
    state: MessageState
    not_before: datetime
    expires_at: datetime
    attempts: int
    created_at: datetime
    body: str | None = None
    language: str = "fr"
    sender: str | None = None
    resume: str | None = None
    # the sender a thread's reply must leave through (None: the chain, in order)
    via: str | None = None


@dataclass(frozen=True, slots=True)
class OutgoingText:
    """What a sender is asked to deliver. `message_id` is stable across retries.
    `resume` is what this sender answered in `RetryLater.resume` on an earlier attempt
    (kept in the store, so it survives a restart)."""

    message_id: int
    to_e164: str
    body: str
    attempt: int = 1
    resume: str | None = None


@dataclass(frozen=True, slots=True)
class InboundText:
    """A text a caller sent back, as a sender received it. `provider_id` (a Twilio
    SID, the SIM's own reference when it has one) makes a redelivered message a
    duplicate, not a second reply; `to_e164` is which of our numbers it reached;
    `media` counts attached pictures (an MMS with no words has an empty body)."""

    from_e164: str
    body: str
    received_at: datetime
    sender: str
    provider_id: str | None = None
    to_e164: str | None = None
    media: int = 0


class Delivery(StrEnum):
    """What the carrier says became of a text we sent, after the sender accepted it.

    Moves only forward: queued -> sent -> delivered, or to one final failure
    (undelivered, failed). `RANK` orders them; a report ranked lower than the stored
    state is kept in the history but changes nothing.
    """

    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"


DELIVERY_RANK: Mapping[Delivery, int] = {
    Delivery.QUEUED: 0,
    Delivery.SENT: 1,
    Delivery.DELIVERED: 2,
    Delivery.UNDELIVERED: 2,
    Delivery.FAILED: 2,
}


class NumberFact(StrEnum):
    """What a provider or the carrier told us about a number, shared by every sender.

    opted_out: STOP at the carrier (Twilio 21610) -- never texted again.
    sms_incapable: a landline or a number that cannot take texts (Twilio 30006, the
      modem's equivalents) -- the case is callback-only.
    unreachable: off or out of coverage for now (Twilio 30003/30005) -- try later.
    filtered: the carrier filters our traffic (30007) or it is unregistered A2P 10DLC
      (30034) -- a fault of ours, not of the number: an alert, the sender degraded.
    misconfigured: our own sending setup is wrong (21408 region not enabled, 21612
      route impossible from this From) -- named in `doctor`.
    """

    OPTED_OUT = "opted_out"
    SMS_INCAPABLE = "sms_incapable"
    UNREACHABLE = "unreachable"
    FILTERED = "filtered"
    MISCONFIGURED = "misconfigured"


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """One update about a text we sent, from a sender (a Twilio status poll or
    callback, a modem status-report PDU). `provider_id` is what `Sent.provider_id`
    was; `error_code` is the provider's own (`30006`, `gsm:st:65`); `fact` is what
    that code says about the number, when it says something."""

    sender: str
    provider_id: str
    state: Delivery
    at: datetime
    error_code: str | None = None
    fact: NumberFact | None = None
    detail: str = ""


# --- sender results ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sent:
    """Accepted by the carrier or provider."""

    provider_id: str


@dataclass(frozen=True, slots=True)
class RetryLater:
    """Not sent now; may succeed later. `after` is seconds to wait (0 = no opinion).

    `ambiguous` is True when the text may have left (a timeout after the modem or the
    provider received it): the chain must not hand it to another sender blindly.
    `resume` is set when part of the text is known to have left through this sender
    (some parts of a long text): the next attempt goes to this sender only, given
    the token back in `OutgoingText.resume`. The token means nothing to anyone else.
    `fact` and `code` are what the refusal says about the number or our own sending
    (Twilio 30007/30034 at create time: `filtered`; 30003/30005: `unreachable`),
    applied like `Rejected.fact`.
    """

    after: float
    reason: str
    ambiguous: bool = False
    resume: str | None = None
    fact: NumberFact | None = None
    code: str | None = None


@dataclass(frozen=True, slots=True)
class Rejected:
    """Permanently refused for this number. `opt_out` is True when the carrier or the
    provider says the recipient unsubscribed; `fact` is what the refusal says about
    the number (sms_incapable for a landline...), applied for every sender; `code`
    the provider's error code (`21612`), kept with the fact."""

    reason: str
    opt_out: bool = False
    fact: NumberFact | None = None
    code: str | None = None


SendResult = Sent | RetryLater | Rejected


# --- policy decisions ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Notify:
    """Queue a text: `template` is "open" or "after_hours"."""

    department: str
    template: str
    not_before: datetime
    expires_at: datetime
    language: str = "fr"


@dataclass(frozen=True, slots=True)
class Skip:
    reason: str


@dataclass(frozen=True, slots=True)
class Defer:
    """Queue a text that may leave only at `until` (quiet hours)."""

    department: str
    template: str
    until: datetime
    expires_at: datetime
    language: str = "fr"


Decision = Notify | Skip | Defer


def decision_label(decision: Decision) -> str:
    """`notify`, `skip:<reason>` or `defer:<until>`: the form stored and displayed."""
    if isinstance(decision, Skip):
        return f"skip:{decision.reason}"
    if isinstance(decision, Defer):
        return f"defer:{decision.until.isoformat()}"
    return "notify"


# --- recovery cases --------------------------------------------------------------------


class Resolution(StrEnum):
    """Why a case closed. `reached` is set by the PBX's proof (an answered call),
    `expired` by the store's sweep; the others are staff's word."""

    REACHED = "reached"
    EXPIRED = "expired"
    REACHED_ELSEWHERE = "reached_elsewhere"
    NO_ANSWER_LEFT_MESSAGE = "no_answer_left_message"
    WRONG_NUMBER = "wrong_number"
    SPAM = "spam"
    NOT_NEEDED = "not_needed"


STAFF_RESOLUTIONS = (
    Resolution.REACHED_ELSEWHERE,
    Resolution.NO_ANSWER_LEFT_MESSAGE,
    Resolution.WRONG_NUMBER,
    Resolution.SPAM,
    Resolution.NOT_NEEDED,
)


class AttemptResult(StrEnum):
    """What one call back to a case's caller came to."""

    REACHED = "reached"
    TOO_SHORT = "too_short"
    NOT_ANSWERED = "not_answered"
    VOICEMAIL = "voicemail"


# --- health and counters -------------------------------------------------------------


class HealthState(StrEnum):
    OK = "ok"
    STARTING = "starting"
    DEGRADED = "degraded"
    DOWN = "down"


@dataclass(frozen=True, slots=True)
class Health:
    """A driver's self-report. `details` holds JSON-ready facts (no secrets, no full
    phone numbers); `counters` the bad-input and event counts for `/metrics`."""

    state: HealthState
    summary: str = ""
    since: datetime | None = None
    details: Mapping[str, object] = field(default_factory=dict)
    counters: Mapping[str, int] = field(default_factory=dict)

    @property
    def usable(self) -> bool:
        return self.state in (HealthState.OK, HealthState.DEGRADED)


class Counters:
    """Named monotonic counters owned by one component (thread-safe, cheap).

    Names are metric-ready snake case: `bad_frame_no_event`, `line_garbled`.
    """

    __slots__ = ("_lock", "_values")

    def __init__(self, *names: str) -> None:
        self._values: dict[str, int] = dict.fromkeys(names, 0)
        self._lock = threading.Lock()

    def inc(self, name: str, by: int = 1) -> None:
        with self._lock:
            self._values[name] = self._values.get(name, 0) + by

    def get(self, name: str) -> int:
        return self._values.get(name, 0)

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._values)


# --- JSON form of a call record (replay files, `ringback replay`, the status API) ---

_RECORD_FIELDS = CallRecord.__dataclass_fields__


def record_to_json(record: CallRecord) -> dict[str, object]:
    """The JSON object for a call record: times in RFC 3339 UTC, enums as strings."""
    out: dict[str, object] = {}
    for name in _RECORD_FIELDS:
        value = getattr(record, name)
        if isinstance(value, datetime):
            value = value.astimezone(UTC).isoformat().replace("+00:00", "Z")
        elif isinstance(value, tuple):
            value = list(value)
        out[name] = value
    return out


# Bounds on a call record read from JSON (replay files): what no real call can say.
MAX_FIELD_CHARS = 256
MAX_EXTENSIONS = 64
MAX_CALL_SECONDS = 30 * 24 * 3600
RECORD_YEARS = range(1970, 2200)


def record_from_json(data: Mapping[str, object]) -> CallRecord:
    """Inverse of `record_to_json`. Raises ValueError naming the bad field, for any
    value out of bounds too (strings over 256 characters, more than 64 extensions,
    durations negative, infinite or over 30 days, years outside 1970-2199, a call that
    ends before it starts)."""
    unknown = set(data) - set(_RECORD_FIELDS)
    if unknown:
        raise ValueError(f"unknown field(s): {', '.join(sorted(unknown))}")
    kwargs: dict[str, object] = {}
    for name, value in data.items():
        try:
            kwargs[name] = _coerce(name, value)
        except (TypeError, ValueError) as err:
            raise ValueError(f"field {name}: {err}") from None
    for required in ("source", "call_id", "started_at", "ended_at", "direction", "outcome"):
        if required not in kwargs:
            raise ValueError(f"field {required} is missing")
    started, ended = kwargs["started_at"], kwargs["ended_at"]
    assert isinstance(started, datetime) and isinstance(ended, datetime)
    if ended < started:
        raise ValueError("field ended_at: the call ends before it starts")
    if (ended - started).total_seconds() > MAX_CALL_SECONDS:
        raise ValueError(f"field ended_at: the call lasts over {MAX_CALL_SECONDS} seconds")
    return CallRecord(**kwargs)  # type: ignore[arg-type]


def _coerce(name: str, value: object) -> object:
    if name in ("started_at", "ended_at"):
        if not isinstance(value, str) or len(value) > 40:
            raise TypeError("expected an RFC 3339 timestamp")
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            raise ValueError("timestamp has no time zone")
        if parsed.year not in RECORD_YEARS:
            raise ValueError(f"year {parsed.year} is out of range")
        try:
            return parsed.astimezone(UTC)
        except OverflowError:
            raise ValueError("timestamp out of range") from None
    if name == "direction":
        return Direction(str(value))
    if name == "outcome":
        return Outcome(str(value))
    if name == "evidence":
        return Evidence(str(value))
    if name == "extensions":
        if not isinstance(value, list | tuple) or len(value) > MAX_EXTENSIONS:
            raise TypeError(f"expected a list of at most {MAX_EXTENSIONS} strings")
        if not all(isinstance(v, str) and len(v) <= MAX_FIELD_CHARS for v in value):
            raise TypeError("expected a list of strings")
        return tuple(value)
    if name.endswith("_seconds"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError("expected a number")
        if not 0 <= value <= MAX_CALL_SECONDS:  # False for NaN
            raise ValueError(f"expected 0 to {MAX_CALL_SECONDS} seconds")
        return float(value)
    if value is not None and not isinstance(value, str):
        raise TypeError("expected a string")
    if value is not None and len(value) > MAX_FIELD_CHARS:
        raise ValueError(f"longer than {MAX_FIELD_CHARS} characters")
    if value is not None and "\x00" in value:
        raise ValueError("contains U+0000")
    return value
