"""The keep-alive under a burst, against the fake AMI over TCP: a Pong that is late
because events are still being read is a busy link, not a dead one."""

from __future__ import annotations

import asyncio
import re

from drivers.base import SiteContext
from tests.drivers.asterisk.conftest import SCENARIOS, recorded
from tests.drivers.asterisk.test_source import running, until
from tests.peers.ami_server import FakeAmiServer

_ID = re.compile(rb"^(\w*(?:Uniqueid|Linkedid)): \d+\.(\d+)\r$", re.MULTILINE | re.IGNORECASE)
CALLS = 300


def fresh_copy(data: bytes, index: int) -> bytes:
    """A recorded call with ids of its own (so a storm of copies is a storm of calls)."""
    prefix = b"%d" % (7_000_000_000 + index)
    return _ID.sub(lambda m: m.group(1) + b": " + prefix + b"." + m.group(2) + b"\r", data)


async def test_burst_with_late_pongs_keeps_the_link(site: SiteContext) -> None:
    """Pins: while a burst of calls streams for many ping intervals and every Pong
    comes back 5x the ping timeout late, the session is never dropped (one login, no
    reconnect, no `ping_timeouts`), late pings are counted `ping_late`, and every call
    of the burst is recorded."""
    streams = [recorded(name)[0] for name in SCENARIOS]
    server = FakeAmiServer(ping_delay=1.0)
    options = {"ping_interval_seconds": 0.05, "ping_timeout_seconds": 0.2}
    async with server, running(server, site, **options) as (source, records):
        await server.wait_action("CoreShowChannels")
        await until(lambda: source.health().details["connected"] is True)
        loop = asyncio.get_running_loop()
        started = loop.time()
        index = 0
        # stream until at least 6 ping timeouts have passed, then until CALLS calls
        while index < CALLS or loop.time() - started < 1.2:
            await server.play(fresh_copy(streams[index % len(streams)], index))
            index += 1
            await asyncio.sleep(0.002)
        await until(lambda: len(records) == index, within=60)
        health = source.health()
    assert server.logins == 1 and health.details["reconnects"] == 0
    assert health.counters["ping_timeouts"] == 0
    assert health.counters["ping_late"] >= 1


async def test_silent_link_is_still_dropped(site: SiteContext) -> None:
    """Pins the other side: a link on which nothing at all arrives while a Ping is
    unanswered is dead (`ping_timeouts`) and the driver logs in again."""
    server = FakeAmiServer(answer_ping=False)
    options = {"ping_interval_seconds": 0.05, "ping_timeout_seconds": 0.1}
    async with server, running(server, site, **options) as (source, _):
        await server.wait_logins(2, within=30)
        health = source.health()
    assert health.counters["ping_timeouts"] >= 1
