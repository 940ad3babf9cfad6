"""What a finished call means for its caller's cases. Pure.

- an inbound call that ended in an outcome the site texts (`sms.texted_outcomes`,
  whether or not a text was allowed) is a **miss**: it opens or joins a case;
- an answered call between the caller and the dealership is **proof** they were
  reached: an outbound call answered and talked at least `proof_min_talk_seconds`
  (shorter is a carrier announcement or the caller's voicemail: an attempt), or an
  inbound call a person answered;
- an outbound call that was not answered (rang out, busy) is an **attempt**;
- internal calls and anything else mean nothing to a case.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from agent.model import AttemptResult, CallRecord, Direction, Outcome


class Meaning(StrEnum):
    NOTHING = "nothing"
    MISS = "miss"
    CONTACT = "contact"


@dataclass(frozen=True, slots=True)
class Verdict:
    meaning: Meaning
    result: AttemptResult | None = None
    extension: str | None = None


def judge(record: CallRecord, texted: frozenset[str], min_talk_seconds: float) -> Verdict:
    if record.direction is Direction.INBOUND:
        if record.outcome.value in texted:
            return Verdict(Meaning.MISS)
        if record.outcome is Outcome.ANSWERED:
            who = record.answered_by or (record.extensions[-1] if record.extensions else None)
            return Verdict(Meaning.CONTACT, AttemptResult.REACHED, who)
        return Verdict(Meaning.NOTHING)
    if record.direction is Direction.OUTBOUND:
        who = record.caller_raw or record.answered_by or None
        if record.outcome is not Outcome.ANSWERED:
            return Verdict(Meaning.CONTACT, AttemptResult.NOT_ANSWERED, who)
        if record.talk_seconds < min_talk_seconds:
            return Verdict(Meaning.CONTACT, AttemptResult.TOO_SHORT, who)
        return Verdict(Meaning.CONTACT, AttemptResult.REACHED, who)
    return Verdict(Meaning.NOTHING)
