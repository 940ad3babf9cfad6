"""An IP Office call from its segments: direction (no trunk party means internal),
outcome (a person answered > a machine answered > nobody; device roles say which
`E`/`V` devices are voicemail or auto-attendants) and the facts in `CallFacts`
order. Pure: no I/O, no state."""

from __future__ import annotations

from datetime import datetime

from agent.model import Direction, Outcome
from drivers.sources.smdr.avaya_ipoffice.records import Segment
from drivers.sources.smdr.parsing import CallFacts, ParseContext


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


def one_segment_outcome(
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
