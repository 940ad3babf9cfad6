"""`new_call_record`, the cheap constructor SMDR builds one record per line with, gives
exactly the object the keyword constructor gives."""

from __future__ import annotations

import dataclasses
import pickle
from datetime import UTC, datetime

import pytest

from agent.model import CallRecord, Direction, Evidence, Outcome, new_call_record

START = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
END = datetime(2026, 11, 23, 14, 2, tzinfo=UTC)
ARGS = (
    "pbx", "ipo-1-20261123T140000", START, END, Direction.INBOUND, Outcome.ANSWERED,
    "5145550100", "Joe", "4324", 7.0, 113.0, "4324", ("4324", "4750"),
)  # fmt: skip
NAMES = (
    "source", "call_id", "started_at", "ended_at", "direction", "outcome", "caller_raw",
    "caller_name", "dialed", "ring_seconds", "talk_seconds", "answered_by", "extensions",
)  # fmt: skip


def test_same_record_as_the_keyword_constructor() -> None:
    """Every field, set ones and defaults, equal; same hash, repr, class, JSON shape."""
    fast = new_call_record(*ARGS)
    slow = CallRecord(**dict(zip(NAMES, ARGS, strict=True)))  # type: ignore[arg-type]
    assert type(fast) is CallRecord
    assert dataclasses.astuple(fast) == dataclasses.astuple(slow)
    assert fast == slow and hash(fast) == hash(slow) and repr(fast) == repr(slow)
    assert fast.evidence is Evidence.LIVE and fast.caller_e164 is None
    assert pickle.loads(pickle.dumps(fast)) == slow


def test_every_field_is_set() -> None:
    """A field added to CallRecord but not to the draft would be missing here."""
    fast = new_call_record(*ARGS)
    for field in dataclasses.fields(CallRecord):
        getattr(fast, field.name)  # AttributeError for a slot never stored
        if field.name not in NAMES:
            assert getattr(fast, field.name) == field.default, field.name


def test_still_frozen() -> None:
    fast = new_call_record(*ARGS)
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.outcome = Outcome.MISSED  # type: ignore[misc]
    assert dataclasses.replace(fast, outcome=Outcome.MISSED).outcome is Outcome.MISSED
