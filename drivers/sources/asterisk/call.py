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

Thousands may be in progress at once (a storm, a queue backed up), so a call keeps
only the fields it needs (slots, no event dicts) and shares its strings: the
extensions, contexts and DIDs every call repeats are interned, and a channel's
`Uniqueid` is the one string object wherever the call names it.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from functools import lru_cache

from agent.model import Direction


@lru_cache(maxsize=1024)
def extended(items: tuple[str, ...], item: str) -> tuple[str, ...]:
    """`items + (item,)`, the one tuple object for every call that builds the same one
    in the same order (the extensions of a ring group, the keys of a menu path)."""
    return (*items, item)


@dataclass(slots=True)
class Leg:
    """One channel of the call. Its name is not kept (a string per channel, the
    largest part of a ringing call): each event and snapshot entry carries it."""

    uniqueid: str
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
    # Uniqueids of the phones ringing now, of every phone dialed, of those busy: a few
    # each, in tuples (an empty one costs nothing, a set 216 bytes even empty); the
    # tuples of extensions and keys are shared between calls (`extended`)
    ringing: tuple[str, ...] = ()
    dialed_legs: tuple[str, ...] = ()
    busy_legs: tuple[str, ...] = ()
    extensions: tuple[str, ...] = ()
    ring: Phase = field(default_factory=Phase)
    ivr: Phase = field(default_factory=Phase)
    queue_phase: Phase = field(default_factory=Phase)
    queue: str | None = None
    in_queue: bool = False
    queue_abandoned: bool = False
    queue_left: bool = False
    dtmf: tuple[str, ...] = ()
    ivr_keys: tuple[str, ...] = ()
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
            self.extensions = extended(self.extensions, sys.intern(extension))

    def dial(self, uid: str) -> None:
        """A phone of the call rings."""
        if uid not in self.ringing:
            self.ringing += (uid,)
        if uid not in self.dialed_legs:
            dialed = (*self.dialed_legs, uid)
            # while every phone dialed still rings, the two are one tuple
            self.dialed_legs = self.ringing if dialed == self.ringing else dialed

    def stop_ringing(self, uid: str) -> bool:
        """That phone no longer rings; True when it was the last one ringing."""
        if uid not in self.ringing:
            return False
        self.ringing = tuple(u for u in self.ringing if u != uid)
        return not self.ringing

    def line_busy(self, uid: str) -> None:
        if uid not in self.busy_legs:
            self.busy_legs += (uid,)

    def close_phases(self, at: float) -> None:
        self.ring.close(at)
        self.ivr.close(at)
        self.queue_phase.close(at)

    @property
    def phones_rang(self) -> bool:
        return any(uid not in self.busy_legs for uid in self.dialed_legs)

    @property
    def all_lines_busy(self) -> bool:
        return bool(self.dialed_legs) and all(uid in self.busy_legs for uid in self.dialed_legs)
