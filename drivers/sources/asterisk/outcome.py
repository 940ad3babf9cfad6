"""A finished call -> its `Outcome` and its `CallRecord`. Pure.

The order of the rules is the meaning:
1. a person's channel was bridged with the call            -> answered
2. the call's end was not seen (evicted, vanished while the
   link was down, joined mid-call unannounced)               -> unknown
3. a voicemail application or context took the call          -> voicemail
4. the PBX answered busy (Busy()/Congestion(), caller state
   Busy), every leg tried was busy, or the caller's channel
   carries a busy cause and no phone rang                    -> busy
5. the caller left while waiting in a queue                  -> abandoned_queue
6. phones rang and none answered                             -> missed
7. otherwise the PBX itself had the call (menu, announcement) -> abandoned_ivr,
   except a call adopted in progress never seen in a menu    -> unknown
Rules 5-7 become short_abandon when the caller hung up within
`short_abandon_seconds` of the call's arrival.
"""

from __future__ import annotations

from datetime import UTC, datetime

from agent.model import CallRecord, Evidence, Outcome
from drivers.sources.asterisk.call import Call

_ABANDONS = frozenset({Outcome.ABANDONED_QUEUE, Outcome.MISSED, Outcome.ABANDONED_IVR})


def _base_outcome(call: Call) -> Outcome:
    if call.answered_at is not None:
        return Outcome.ANSWERED
    if call.gap:
        return Outcome.UNKNOWN
    if call.voicemail:
        return Outcome.VOICEMAIL
    if call.busy or (call.all_lines_busy and call.queue is None):
        return Outcome.BUSY
    if call.busy_cause and not call.phones_rang and call.queue is None:
        return Outcome.BUSY
    if call.queue_abandoned:
        return Outcome.ABANDONED_QUEUE
    if call.phones_rang:
        return Outcome.MISSED
    if call.adopted and call.ivr.seconds == 0.0:
        return Outcome.UNKNOWN  # adopted after what settled it: not guessed
    return Outcome.ABANDONED_IVR


def decide(call: Call, ended_at: float, short_abandon_seconds: float) -> Outcome:
    outcome = _base_outcome(call)
    if outcome in _ABANDONS and call.caller_left:
        left_at = call.origin_ended_at if call.origin_ended_at is not None else ended_at
        if left_at - call.started_at < short_abandon_seconds:
            return Outcome.SHORT_ABANDON
    return outcome


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def build_record(call: Call, source: str, ended_at: float, short_abandon: float) -> CallRecord:
    """The record of a finished call; phases still open are closed at `ended_at`."""
    call.close_phases(ended_at)
    outcome = decide(call, ended_at, short_abandon)
    talk_end = call.origin_ended_at if call.origin_ended_at is not None else ended_at
    talk = talk_end - call.answered_at if call.answered_at is not None else 0.0
    return CallRecord(
        source=source,
        call_id=call.linkedid,
        started_at=_utc(call.started_at),
        ended_at=_utc(max(ended_at, call.started_at)),
        direction=call.direction,
        outcome=outcome,
        caller_raw=call.caller_num,
        caller_name=call.caller_name,
        dialed=call.dialed,
        queue=call.queue,
        ivr_path="".join(call.dtmf or call.ivr_keys),
        ring_seconds=round(call.ring.seconds, 3),
        ivr_seconds=round(call.ivr.seconds, 3),
        queue_seconds=round(call.queue_phase.seconds, 3),
        talk_seconds=round(max(0.0, talk), 3),
        answered_by=call.answered_by,
        extensions=tuple(call.extensions),
        evidence=Evidence.PARTIAL if call.partial or call.gap else Evidence.LIVE,
    )
