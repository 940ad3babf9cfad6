"""SmdrSource against fake PBXes over real transports: TCP both ways, a pty serial
port, the Mitel 5000 socket login and framing, the pass-through consumer."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from agent.model import CallRecord, HealthState
from drivers.base import SiteContext
from drivers.sources.smdr.source import SmdrSource
from tests.drivers.smdr.helpers import config, fixture_bytes, fixture_lines
from tests.peers.smdr_line import (
    PtySerialPeer,
    TcpClientPeer,
    TcpServerPeer,
    free_port,
    with_endings,
)

AVAYA_CALLS = 11  # 13 lines, two of them continuations joined to their final record


@asynccontextmanager
async def running(source: SmdrSource) -> AsyncIterator[asyncio.Queue[CallRecord]]:
    """Run `records()` in a task, collecting into a queue; cancel it on exit."""
    out: asyncio.Queue[CallRecord] = asyncio.Queue()

    async def pump() -> None:
        async for record in source.records():
            out.put_nowait(record)

    task = asyncio.create_task(pump())
    try:
        yield out
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def take(queue: asyncio.Queue[CallRecord], n: int, within: float = 5.0) -> list[CallRecord]:
    return [await asyncio.wait_for(queue.get(), within) for _ in range(n)]


async def until(predicate: object, within: float = 5.0) -> None:
    assert callable(predicate)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not predicate():
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


async def test_socket_url_reads_chunked_stream_and_survives_pulled_cable(
    site: SiteContext,
) -> None:
    """Pins socket:// (ringback connects): randomly chunked CRLF records become calls;
    a connection dropped mid-record counts line_truncated, the source reconnects by
    itself, reports the outage in health(), and reads the records sent afterwards."""
    pbx = TcpServerPeer()
    await pbx.start()
    source = SmdrSource(config("avaya_ipoffice", url=pbx.url), site)
    rng = random.Random(4)
    async with running(source) as calls:
        await pbx.send(fixture_bytes("avaya-ipoffice"), rng)
        first = await take(calls, AVAYA_CALLS)
        assert source.health().state is HealthState.OK
        line = fixture_lines("avaya-ipoffice")[0].encode()
        await pbx.send(line[:30])  # half a record, then the cable goes
        await pbx.drop()
        await until(lambda: source.health().counters["line_truncated"] == 1)
        await pbx.wait_connected()
        await pbx.send(line + b"\r\n", rng)
        (again,) = await take(calls, 1)
    health = source.health()
    assert health.counters["connects"] == 2 and health.counters["disconnects"] == 1
    assert again.call_id == first[0].call_id  # a re-sent record keeps its call id
    assert health.details["bad_lines"][0]["reason"] == "line_truncated"  # type: ignore[index]
    await pbx.close()


async def test_listen_mode_accepts_the_pbx_and_reports_waiting(site: SiteContext) -> None:
    """Pins listen mode (IP Office / 3CX active socket): DEGRADED while no PBX is
    connected, records from a connecting PBX with CR LF LF endings, and back to
    waiting when it hangs up."""
    port = free_port()
    source = SmdrSource(config("threecx", url=None, listen=f"127.0.0.1:{port}"), site)
    async with running(source) as calls:
        await until(lambda: source.health().details["link"] == "listening")
        assert source.health().state is HealthState.DEGRADED
        pbx = TcpClientPeer(port)
        await pbx.connect()
        await pbx.send(with_endings(fixture_lines("3cx"), b"\r\n\n"), random.Random(7))
        records = await take(calls, 8)
        assert source.health().state is HealthState.OK
        await pbx.close()
        await until(lambda: source.health().details["peers"] == 0)
    assert records[0].call_id == "3cx-00000C21DE5C2470_6531"


async def test_pty_serial_noise_unplug_and_replug(site: SiteContext, tmp_path: Path) -> None:
    """Pins the serial path through pyserial on a pty behind a by-id style symlink:
    CR-only endings, form feeds and page headers; wrong-baud garbage counted as
    line_garbled while the stream goes on; an unplugged adapter makes health DOWN and
    a replugged one is reopened by path."""
    port = PtySerialPeer(tmp_path)
    source = SmdrSource(config("samsung", url=str(port.path)), site)
    rng = random.Random(11)
    lines = fixture_lines("samsung")
    try:
        async with running(source) as calls:
            await until(lambda: source.health().state is HealthState.OK)
            await port.send(
                b"\x0c  EXT  TRK  DATE  TIME  DURATION  FG\r" + lines[0].encode() + b"\r"
            )
            await port.send(bytes(rng.randrange(128, 256) for _ in range(40)) + b"\r\n", rng)
            await port.send(with_endings(lines[1:], b"\r"), rng)
            records = await take(calls, 4)
            assert source.health().counters["line_garbled"] == 1
            port.unplug()
            await until(lambda: source.health().state is HealthState.DOWN)
            port.replug()
            await until(lambda: source.health().state is HealthState.OK, within=8)
            await port.send(with_endings(lines[:1], b"\n"), rng)
            (again,) = await take(calls, 1)
    finally:
        port.close()
    assert again.call_id == records[0].call_id
    assert source.health().counters["connects"] == 2


async def test_mitel_5000_socket_login_and_length_prefixed_records(site: SiteContext) -> None:
    """Pins the Mitel 5000 socket: ringback logs in with the empty-password frame
    02 00 00 00 84 00, then reads records behind 4-byte little-endian lengths."""
    pbx = TcpServerPeer()
    await pbx.start()
    source = SmdrSource(config("mitel_5000", url=pbx.url), site)
    record = fixture_lines("mitel-5000")[0].encode() + b"\r\n"
    framed = len(record).to_bytes(4, "little") + record
    async with running(source) as calls:
        await pbx.send(framed * 2, random.Random(3))
        got = await take(calls, 2)
    assert pbx.received == b"\x02\x00\x00\x00\x84\x00"
    assert got[0].caller_raw == "11202" and got[0].dialed == "961-9000"
    await pbx.close()


async def test_pass_through_forwards_bytes_unchanged(site: SiteContext) -> None:
    """Pins pass-through: the consumer receives exactly the bytes the PBX sent
    (endings, headers and all)."""
    pbx, consumer = TcpServerPeer(), TcpServerPeer()
    await pbx.start()
    await consumer.start()
    cfg = config("nec", url=pbx.url, pass_through=f"127.0.0.1:{consumer.port}")
    source = SmdrSource(cfg, site)
    data = b"      PAGE 001\r\n" + fixture_bytes("nec").replace(b"\r\n", b"\r\n\n")
    async with running(source) as calls:
        await consumer.wait_connected()
        await pbx.send(data, random.Random(5))
        await take(calls, 2)
        await until(lambda: consumer.received == data)
    await pbx.close()
    await consumer.close()


async def test_dead_pass_through_consumer_never_blocks_ingestion(site: SiteContext) -> None:
    """Pins that a pass-through consumer that is down (nothing listens) neither blocks
    nor breaks ingestion: records flow, the overflow is dropped and counted."""
    pbx = TcpServerPeer()
    await pbx.start()
    cfg_values = {"url": pbx.url, "pass_through": f"127.0.0.1:{free_port()}"}
    source = SmdrSource(config("avaya_ipoffice", **cfg_values), site)
    source._pass.outputs[0].outlet.max_bytes = 4096  # type: ignore[union-attr]
    data = fixture_bytes("avaya-ipoffice")
    async with running(source) as calls:
        for _ in range(10):
            await pbx.send(data, random.Random(1))
        await take(calls, AVAYA_CALLS * 10)
    health = source.health()
    assert health.counters["pass_through_dropped"] > 0
    assert health.details["pass_through"][0]["connected"] is False  # type: ignore[index]
    await pbx.close()
