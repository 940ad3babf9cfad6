"""Bounds on what an AMI event may say: an absurd `Timestamp` or `Duration` is a named
bad-input counter, never an exception out of `data_received` (which tore the session
down and lost every call in flight)."""

from __future__ import annotations

import asyncio

from agent.model import Counters
from drivers.base import SiteContext
from drivers.sources.asterisk.badinput import BadInput
from drivers.sources.asterisk.config import AsteriskConfig
from drivers.sources.asterisk.events import learn_channel
from drivers.sources.asterisk.tracker import CallTracker, event_time
from tests.drivers.asterisk.conftest import SCENARIOS, recorded
from tests.drivers.asterisk.test_source import running, until
from tests.peers.ami_server import FakeAmiServer, split_frames


def _absurd(data: bytes, stamp: bytes) -> bytes:
    """The stream with the Timestamp of its last Hangup replaced by `stamp`."""
    frames = split_frames(data)
    at = max(i for i, f in enumerate(frames) if f.startswith(b"Event: Hangup\r\n"))
    last = frames[at]
    start = last.index(b"Timestamp: ") + len(b"Timestamp: ")
    end = last.find(b"\r\n", start)
    frames[at] = last[:start] + stamp + (last[end:] if end >= 0 else b"")
    return b"\r\n\r\n".join(frames) + b"\r\n\r\n"


async def test_absurd_timestamp_keeps_the_session_and_the_calls(site: SiteContext) -> None:
    """Pins, over TCP against the fake AMI: a `Timestamp: 1e300` (and a 400-digit one)
    is counted `bad_timestamp`, the session stays up (one login, no reconnect), and
    the calls of the stream and of the next one are all recorded."""
    first, _ = recorded(SCENARIOS[0])
    second, _ = recorded(SCENARIOS[1])
    async with FakeAmiServer() as server, running(server, site) as (source, records):
        await server.wait_action("CoreShowChannels")
        await until(lambda: source.health().details["connected"] is True)
        await server.play(_absurd(first, b"1e300"))
        await server.play(_absurd(second, b"9" * 400))
        await until(lambda: len(records) == 2, within=30)
        await asyncio.sleep(0)
        health = source.health()
    assert health.counters["bad_timestamp"] == 2
    assert health.counters["event_failed"] == 0
    assert server.logins == 1 and health.details["reconnects"] == 0


def test_event_time_bounds(config: AsteriskConfig) -> None:
    """Pins which Timestamp headers are used: plausible POSIX times are, absurd, NaN,
    infinite, negative and over-long ones fall back to the arrival time, reported."""
    counters = Counters()
    report = BadInput(counters, config.name)
    arrival = 1_732_000_000.0
    assert event_time({"Timestamp": "1732000001.500"}, arrival, report) == 1_732_000_001.5
    for stamp in ("1e300", "nan", "inf", "-5", "0", "1" * 40, "12:00"):
        assert event_time({"Timestamp": stamp}, arrival, report) == arrival, stamp
    assert counters.get("bad_timestamp") == 7
    assert event_time({}, arrival, report) == arrival


def test_absurd_duration_in_a_snapshot_is_not_trusted(
    tracker: CallTracker, counters: Counters
) -> None:
    """Pins: a CoreShowChannel `Duration` of 38-digit hours is not read as one (the
    call would start before time itself); the channel is still learned."""
    frame = {"Uniqueid": "1.1", "Linkedid": "1.1", "Channel": "PJSIP/trunk-1",
             "Duration": "9" * 38 + ":00:00"}  # fmt: skip
    learn_channel(tracker, frame, 1_732_000_000.0)
    assert tracker.calls["1.1"].started_at == 1_732_000_000.0
    records = tracker.evict(1_732_000_000.0 + 10**6)
    assert counters.get("event_failed") == 0 and len(records) <= 1
