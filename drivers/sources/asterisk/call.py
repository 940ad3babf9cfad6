"""The state of one call in progress (every channel sharing a Linkedid).

Times are POSIX seconds (floats): the event's `Timestamp` header when Asterisk sends
one, else the time it was received. Phases (IVR, queue, ringing) are open intervals
that are closed and summed as the events arrive.

`partial` marks a call not seen from its first event to its last (adopted from a
`CoreShowChannels` snapshot, or in progress while the link was down): its outcome is
still judged from what is known, and its record says `evidence: partial`; an
`adopted` one (its beginning never seen) whose known events settle nothing is
unknown rather than guessed. `gap` marks
a call whose end was not seen at all (evicted, vanished while the link was down): its
outcome is unknown unless it was answered.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.model import Direction


@dataclass(slots=True)
class Leg:
    """One channel of the call."""

    uniqueid: str
    channel: str
    local: bool
    label: str
    bridge: str | None = None


@dataclass(slots=True)
class Phase:
    """An interval that may open and close several times (ringing, IVR, queue)."""

    since: float | None = None
    seconds: float = 0.0

    def open(self, at: float) -> None:
        if self.since is None:
            self.since = at

    def close(self, at: float) -> None:
        if self.since is not None:
            self.seconds += max(0.0, at - self.since)
            self.since = None


@dataclass(slots=True)
class Call:
    linkedid: str
    started_at: float
    last_event_at: float
    touched_at: float
    origin: str | None = None
    origin_context: str = ""
    direction: Direction = Direction.INTERNAL
    caller_num: str = ""
    caller_name: str | None = None
    dialed: str | None = None
    legs: dict[str, Leg] = field(default_factory=dict)
    ringing: set[str] = field(default_factory=set)
    dialed_legs: set[str] = field(default_factory=set)
    busy_legs: set[str] = field(default_factory=set)
    extensions: list[str] = field(default_factory=list)
    ring: Phase = field(default_factory=Phase)
    ivr: Phase = field(default_factory=Phase)
    queue_phase: Phase = field(default_factory=Phase)
    queue: str | None = None
    in_queue: bool = False
    queue_abandoned: bool = False
    queue_left: bool = False
    dtmf: list[str] = field(default_factory=list)
    ivr_keys: list[str] = field(default_factory=list)
    answered_at: float | None = None
    answered_by: str | None = None
    voicemail: bool = False
    busy: bool = False
    busy_cause: bool = False
    caller_left: bool = False
    origin_ended_at: float | None = None
    gap: bool = False
    partial: bool = False
    adopted: bool = False
    stale: bool = False
    absorbed: bool = False

    def add_extension(self, extension: str) -> None:
        if extension and extension not in self.extensions:
            self.extensions.append(extension)

    def close_phases(self, at: float) -> None:
        self.ring.close(at)
        self.ivr.close(at)
        self.queue_phase.close(at)

    @property
    def phones_rang(self) -> bool:
        return bool(self.dialed_legs - self.busy_legs)

    @property
    def all_lines_busy(self) -> bool:
        return bool(self.dialed_legs) and self.dialed_legs <= self.busy_legs
