"""Every recorded Asterisk 22 stream gives its recorded outcome through `replay`."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from agent.model import CallRecord, Direction, Outcome
from drivers.base import SiteContext
from drivers.sources.asterisk.config import AsteriskConfig
from drivers.sources.asterisk.replay import replay
from tests.drivers.asterisk.conftest import SCENARIOS, recorded
from tests.peers.ami_server import frame_fields, split_frames

KIND = {"inbound": Direction.INBOUND, "internal": Direction.INTERNAL}


def first_channel(data: bytes) -> dict[str, str]:
    return next(f for f in map(frame_fields, split_frames(data)) if f.get("Event") == "Newchannel")


def only_record(data: bytes, config: AsteriskConfig, site: SiteContext) -> CallRecord:
    records = list(replay(data, config, site))
    assert len(records) == 1
    return records[0]


@pytest.mark.parametrize("name", SCENARIOS)
def test_recorded_outcome(name: str, config: AsteriskConfig, site: SiteContext) -> None:
    """Outcome, direction, caller, DID, who answered and the phase durations match
    what really happened on the PBX (the fixture's JSON)."""
    data, expected = recorded(name)
    call = expected["calls"][0]
    record = only_record(data, config, site)
    assert record.direction is KIND[call["kind"]]
    if call["kind"] == "inbound":
        assert record.outcome is Outcome(expected["expected_outcome"])
        assert record.dialed == expected["did"]
    assert record.caller_raw == expected["caller_number"]
    assert record.caller_name == expected["caller_name"]
    assert record.call_id == first_channel(data)["Linkedid"]
    assert record.answered_by == (expected["answered_by"] or [None])[0]
    for phase, seconds in expected["approx_seconds"].items():
        if phase != "voicemail":
            assert getattr(record, f"{phase}_seconds") == pytest.approx(seconds, abs=1.5)
    assert record.started_at.tzinfo is UTC
    assert record.caller_e164 is None


def test_times_come_from_timestamp_headers(config: AsteriskConfig, site: SiteContext) -> None:
    """started_at / ended_at are the first Newchannel's and the last Hangup's
    `Timestamp:`, not the replay machine's clock."""
    data, _ = recorded("answered_ringgroup")
    frames = [frame_fields(f) for f in split_frames(data)]
    first = float(next(f for f in frames if f.get("Event") == "Newchannel")["Timestamp"])
    last = float([f for f in frames if f.get("Event") == "Hangup"][-1]["Timestamp"])
    record = only_record(data, config, site)
    assert record.started_at == datetime.fromtimestamp(first, UTC)
    assert record.ended_at == datetime.fromtimestamp(last, UTC)


def test_all_recordings_in_one_stream(config: AsteriskConfig, site: SiteContext) -> None:
    """The seven recordings back to back give seven records, in hang-up order."""
    streams = [recorded(n) for n in SCENARIOS]
    records = list(replay(b"".join(d for d, _ in streams), config, site))
    assert [r.caller_raw for r in records] == [e["caller_number"] for _, e in streams]


def test_overridable_names(site: SiteContext) -> None:
    """Context names come from the options: with `from-pstn` not listed as inbound,
    the same call is not inbound."""
    from tests.drivers.asterisk.conftest import make_config

    data, _ = recorded("missed_ringgroup_caller_hangup")
    config = make_config(inbound_contexts=["from-carrier"])
    assert only_record(data, config, site).direction is not Direction.INBOUND
