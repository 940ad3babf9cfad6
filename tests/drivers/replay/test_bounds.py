"""Bounds on the replay source's JSON lines: absurd values are counted `bad_record`
with the line number, never an exception out of the source; fuzzed lines likewise."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.model import Counters
from drivers.sources.replay.source import read_records
from tests.drivers.replay.test_replay import GOOD


@pytest.mark.parametrize(
    "change",
    [
        {"started_at": "0001-01-01T00:00:00+01:00"},  # OverflowError before
        {"started_at": "9999-12-31T23:59:59-01:00"},
        {"ended_at": "2026-11-23T14:00:00Z"},  # ends before it starts
        {"ended_at": "2027-11-23T15:00:00Z"},  # a year long
        {"ring_seconds": 1e400},  # inf
        {"ring_seconds": -5},
        {"talk_seconds": float("nan")},
        {"caller_name": "x" * 10_000},
        {"caller_raw": "514\x00555"},
        {"extensions": [str(i) for i in range(1000)]},
        {"extensions": [1, 2]},
    ],
)
def test_absurd_values_are_bad_records(change: dict[str, Any]) -> None:
    """Pins: each absurd value is one `bad_record`, and the good line after it is read."""
    counters = Counters("bad_record")
    text = json.dumps({**GOOD, **change}) + "\n" + json.dumps(GOOD)
    assert len(read_records(text, "calls.jsonl", counters)) == 1
    assert counters.get("bad_record") == 1


def test_deep_nesting_and_huge_lines_are_bad_records() -> None:
    """Pins: JSON nested 100,000 deep and a 1 MB line are counted, not raised."""
    counters = Counters("bad_record")
    text = "[" * 100_000 + "\n" + json.dumps({**GOOD, "caller_name": "x" * 1_000_000})
    assert read_records(text, "calls.jsonl", counters) == []
    assert counters.get("bad_record") == 2


_JSON = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@given(st.dictionaries(st.sampled_from([*sorted(GOOD), "talk_seconds", "extensions"]), _JSON))
def test_fuzzed_records_are_read_or_counted(change: dict[str, Any]) -> None:
    """Pins: a record with any JSON value in any field is a call or a `bad_record`."""
    counters = Counters("bad_record")
    records = read_records(json.dumps({**GOOD, **change}), "calls.jsonl", counters)
    assert len(records) + counters.get("bad_record") == 1


@given(st.text(max_size=300))
def test_arbitrary_text_never_raises(text: str) -> None:
    """Pins: any text is read line by line without an exception."""
    read_records(text, "calls.jsonl", Counters("bad_record"))
