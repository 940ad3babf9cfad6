"""AsteriskSource against the fake AMI server over real TCP (loopback)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from agent.model import CallRecord, Evidence, HealthState, Outcome
from drivers.base import SiteContext
from drivers.sources.asterisk.events import EVENT_CLASSES, WANTED
from drivers.sources.asterisk.source import AsteriskSource
from tests.drivers.asterisk.conftest import SCENARIOS, make_config, recorded
from tests.peers.ami_server import FakeAmiServer, frame_fields, live_channels, split_frames

FAST = {"reconnect_min_seconds": 0.02, "reconnect_max_seconds": 0.1}


@contextlib.asynccontextmanager
async def running(
    server: FakeAmiServer, site: SiteContext, **options: Any
) -> AsyncIterator[tuple[AsteriskSource, list[CallRecord]]]:
    config = make_config(port=server.port, **{**FAST, **options})
    source = AsteriskSource(config, site)
    records: list[CallRecord] = []

    async def pump() -> None:
        async for record in source.records():
            records.append(record)

    task = asyncio.create_task(pump(), name="pump")
    try:
        yield source, records
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def until(check: Callable[[], bool], within: float = 5.0) -> None:
    """Poll a condition on the source's health (it exposes no event to wait on)."""
    async with asyncio.timeout(within):
        while not check():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def test_recorded_streams_chunked_inside_utf8(site: SiteContext) -> None:
    """All recordings, cut in random TCP writes and inside every UTF-8 character,
    give their recorded outcomes; a caller name with accents arrives whole."""
    streams = [recorded(name) for name in SCENARIOS]
    data, expected = streams[0]
    streams[0] = (data.replace(b"NGUYEN THI", "Côté Zoë".encode()), expected)
    server = FakeAmiServer(max_chunk=64, cut_utf8=True, seed=3)
    async with server, running(server, site) as (source, records):
        await until(lambda: source.health().details["connected"] is True)
        for data, _ in streams:
            await server.play(data)
        await until(lambda: len(records) == len(streams))
    names = [r.caller_name for r in records]
    assert names[0] == "Côté Zoë"
    for record, (_, exp) in zip(records, streams, strict=True):
        if exp["calls"][0]["kind"] == "inbound":
            assert record.outcome is Outcome(exp["expected_outcome"])
    assert source.health().counters["bad_frame_utf8"] == 0


async def test_login_asks_only_needed_events(site: SiteContext) -> None:
    """Login asks for the needed event classes only and a Filter per handled event."""
    async with FakeAmiServer() as server, running(server, site) as (source, _):
        await until(lambda: source.health().state is HealthState.OK)
        login = next(a for a in server.actions if a["Action"] == "Login")
        filters = {a["Filter"] for a in server.actions if a["Action"] == "Filter"}
    assert login["Events"] == EVENT_CLASSES
    assert filters == {f"Event: {name}" for name in WANTED}


async def test_wrong_secret_is_refused_and_reported(site: SiteContext) -> None:
    """A refused login is retried with backoff, reported down with a counter, and the
    secret never appears in health."""
    async with FakeAmiServer(secret="other") as server, running(server, site) as (source, _):
        await until(lambda: source.health().state is HealthState.DOWN)
        health = source.health()
    assert server.refused >= 3
    assert health.counters["login_refused"] >= 3
    assert "login refused" in str(health.details["last_error"])
    assert "s3cret" not in repr(health)


async def test_link_drop_mid_call_reconnects_and_resyncs(site: SiteContext) -> None:
    """The link drops mid-call and comes back: the source reconnects, reads the
    CoreShowChannels list, reconciles the call with it and records the true outcome
    (missed, as the uncut stream says), stated `partial`."""
    data, _ = recorded("missed_ringgroup_caller_hangup")
    frames = split_frames(data)
    half = len(frames) // 2
    first, rest = b"\r\n\r\n".join(frames[:half]) + b"\r\n\r\n", frames[half:]
    async with FakeAmiServer() as server, running(server, site) as (source, records):
        await until(lambda: source.health().state is HealthState.OK)
        await server.play(first)
        await until(lambda: source.health().details["calls_in_progress"] == 1)
        server.channels = live_channels(first)
        await server.drop()
        await until(lambda: source.health().details["reconnects"] == 1)
        await server.play_frames(rest)
        await until(lambda: len(records) == 1)
    assert (records[0].outcome, records[0].evidence) == (Outcome.MISSED, Evidence.PARTIAL)
    assert source.health().details["calls_in_progress"] == 0


async def test_asterisk_restart_mid_call(site: SiteContext) -> None:
    """Asterisk restarts mid-call: after reconnecting, the snapshot is empty, so the
    call is recorded at once with an unknown outcome and memory is freed."""
    data, _ = recorded("answered_ringgroup")
    frames = split_frames(data)
    ringing = next(i for i, f in enumerate(frames) if b"DialStatus: RINGING" in f)
    async with FakeAmiServer() as server, running(server, site) as (source, records):
        await until(lambda: source.health().state is HealthState.OK)
        await server.play_frames(frames[: ringing + 1])
        await until(lambda: source.health().details["calls_in_progress"] == 1)
        server.channels = []  # Asterisk restarted: no channel survives
        await server.drop()
        await until(lambda: len(records) == 1)
    assert records[0].outcome is Outcome.UNKNOWN
    assert source.health().details["calls_in_progress"] == 0


async def test_unanswered_ping_forces_reconnect(site: SiteContext) -> None:
    """A server that stops answering Ping (half-open TCP) is left and reconnected."""
    async with FakeAmiServer(answer_ping=False) as server:
        options = {"ping_interval_seconds": 0.05, "ping_timeout_seconds": 0.05}
        async with running(server, site, **options) as (source, _):
            await server.wait_logins(2)
            await until(lambda: source.health().counters["ping_timeouts"] >= 1)


async def test_garbage_over_tcp_is_counted(site: SiteContext) -> None:
    """Binary garbage, a frame without Event and a 1 MB line on the wire are counted;
    the call after them is judged right and the link stays up."""
    data, expected = recorded("busy_all_lines")
    server = FakeAmiServer(max_chunk=4096, seed=9)
    async with server, running(server, site) as (source, records):
        await until(lambda: source.health().state is HealthState.OK)
        await server.send(bytes(range(256)) * 4 + b"\r\n\r\n")
        await server.send(b"Uniqueid: 1\r\n\r\n")
        await server.send(b"Event: Newexten\r\nAppData: " + b"y" * 1_000_000 + b"\r\n\r\n")
        await server.play(data)
        await until(lambda: len(records) == 1)
        health = source.health()
    assert records[0].outcome is Outcome(expected["expected_outcome"])
    assert health.counters["bad_frame_oversize"] == 1
    assert health.counters["bad_frame_no_event"] == 2
    assert health.details["reconnects"] == 0


@pytest.mark.parametrize("name", SCENARIOS)
async def test_drop_and_resume_at_events_keeps_every_verdict(site: SiteContext, name: str) -> None:
    """Over TCP, every recording is cut at three events (first, middle and last cut
    where a call is up), the link dropped and resumed: the fake peer answers
    CoreShowChannels from the trace played so far, the source reads the whole list,
    and each call ends with the verdict of the uncut stream, stated partial."""
    data, expected = recorded(name)
    frames = split_frames(data)
    inbound = [c for c in expected["calls"] if c["kind"] == "inbound"]
    live = [
        i
        for i in range(1, len(frames) - 1)
        if frames[i - 1].startswith((b"Event: DialBegin", b"Event: Newexten", b"Event: Newstate"))
        and live_channels(b"\r\n\r\n".join(frames[:i]) + b"\r\n\r\n")
    ]
    for cut in (live[0], live[len(live) // 2], live[-1]):
        async with FakeAmiServer() as server, running(server, site) as (source, records):
            await until(lambda: source.health().state is HealthState.OK)
            await server.play_with_drop(data, cut)
            await until(lambda: len(records) == len(expected["calls"]), within=15.0)
        assert source.health().details["reconnects"] == 1
        assert server.snapshots == 2
        if inbound:
            assert records[0].outcome is Outcome(inbound[0]["expected_outcome"]), cut
        assert {r.evidence for r in records} == {Evidence.PARTIAL}, cut


async def test_large_list_with_live_events_interleaved() -> None:
    """600 channels in progress (150 ringing calls) are read whole on connect, with
    the live events of one call's end written in the middle of the list: all 150
    calls are adopted, the list is complete, and the interleaved events are not
    lost (that call ends missed, as its events say)."""
    data, _ = recorded("missed_ringgroup_caller_hangup")
    frames = split_frames(data)
    ringing = max(i for i, f in enumerate(frames) if b"DialStatus: RINGING" in f) + 1
    one = live_channels(b"\r\n\r\n".join(frames[:ringing]) + b"\r\n\r\n")
    lid = one[0]["Linkedid"]
    channels = [
        {
            **c,
            "Uniqueid": c["Uniqueid"].replace(lid.split(".")[0], str(7_000_000 + n)),
            "Linkedid": lid.replace(lid.split(".")[0], str(7_000_000 + n)),
        }
        if n
        else c
        for n in range(150)
        for c in one
    ]
    server = FakeAmiServer()
    server.channels = channels
    server.during_list = frames[ringing:]
    cut_at = float(frame_fields(frames[ringing - 1])["Timestamp"])
    at_cut = datetime.fromtimestamp(cut_at, UTC)  # the PBX's clock at the cut
    site = SiteContext("test-site", ZoneInfo("America/Toronto"), clock=lambda: at_cut)
    async with server, running(server, site) as (source, records):
        await until(lambda: len(records) == 1, within=15.0)
        health = source.health()
    assert len(channels) == 600
    assert health.counters["calls_adopted"] == 150
    assert health.counters["resync_incomplete"] == 0
    assert health.details["calls_in_progress"] == 149
    assert (records[0].call_id, records[0].outcome) == (lid, Outcome.MISSED)
    assert records[0].evidence is Evidence.PARTIAL
