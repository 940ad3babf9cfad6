"""The asterisk source with catch-up on: the fake AMI server over TCP, the PBX's
records in a Master.csv it appends to. Catch-up runs on start and after every
reconnect; a call AMI saw is yielded once; a call the link lost gets its CDR verdict."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from agent.model import CallRecord, Evidence, Outcome
from drivers.base import SiteContext
from drivers.sources.asterisk.source import AsteriskSource
from tests.drivers.asterisk.cdr.conftest import local_now
from tests.drivers.asterisk.cdr.scenarios import Row, cdr, scenarios, write_csv
from tests.drivers.asterisk.conftest import make_config, recorded
from tests.peers.ami_server import FakeAmiServer, split_frames

FAST = {"reconnect_min_seconds": 0.02, "reconnect_max_seconds": 0.1}
LINKEDID = "1795695917.0"  # the recorded answered_ringgroup call


@contextlib.asynccontextmanager
async def running(
    server: FakeAmiServer, site: SiteContext, path: Path, **options: Any
) -> AsyncIterator[tuple[AsteriskSource, list[CallRecord]]]:
    catchup = {"backend": "csv", "path": str(path), "retry_seconds": 0.05}
    config = make_config(port=server.port, catchup=catchup, **{**FAST, **options})
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


async def until(check: Callable[[], bool], within: float = 20.0) -> None:
    async with asyncio.timeout(within):
        while not check():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


def answered_rows(at: datetime) -> list[Row]:
    """What the PBX wrote for the recorded answered_ringgroup call: 102 answered."""
    trunk = "PJSIP/pstn-00000000"
    common: dict[str, Any] = {"channel": trunk, "src": "+12145550187", "dst": "s"}
    return [
        cdr(
            at,
            LINKEDID,
            duration=25,
            billsec=15,
            disposition="ANSWERED",
            dstchannel="PJSIP/102-00000002",
            sequence=1,
            dcontext="dept-sales",
            **common,
        ),
        cdr(
            at,
            LINKEDID,
            duration=6,
            billsec=0,
            disposition="NO ANSWER",
            dstchannel="PJSIP/101-00000001",
            sequence=2,
            dcontext="dept-sales",
            **common,
        ),
    ]


def append(path: Path, rows: list[Row]) -> None:
    """Append as one atomic replace, so a read in progress sees the file before or after."""
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(path.read_bytes() if path.exists() else b"")
    write_csv(tmp, rows)
    os.replace(tmp, path)


async def test_catchup_on_start_and_reconnect_once_per_call(
    tmp_path: Path, site: SiteContext
) -> None:
    """On start the call that ended while ringback was away is caught up (missed,
    evidence cdr); a call AMI then sees live is yielded once, live, even though the
    catch-up after the next reconnect reads its CDR rows; the call that ended during
    that outage is caught up too."""
    path = tmp_path / "Master.csv"
    cases = scenarios(local_now() - timedelta(hours=2))
    append(path, cases[1].cdr)
    data, _ = recorded("answered_ringgroup")
    async with FakeAmiServer() as server, running(server, site, path) as (source, records):
        await until(lambda: len(records) == 1)
        await until(lambda: source.health().details["connected"] is True)
        await server.play(data)
        await until(lambda: len(records) == 2)
        append(path, answered_rows(local_now() - timedelta(minutes=30)) + cases[3].cdr)
        await server.drop()
        await until(lambda: len(records) == 3)
        await until(lambda: source.health().counters["cdr_calls_known"] >= 1)
    got = [(r.call_id, r.outcome, r.evidence) for r in records]
    assert got == [
        (cases[1].linkedid, Outcome.MISSED, Evidence.CDR),
        (LINKEDID, Outcome.ANSWERED, Evidence.LIVE),
        (cases[3].linkedid, Outcome.BUSY, Evidence.CDR),
    ]


async def test_call_lost_with_the_link_gets_its_cdr_verdict(
    tmp_path: Path, site: SiteContext
) -> None:
    """The link drops while a call rings and the call ends before it is back (empty
    snapshot): instead of `unknown`, the record is the CDR's verdict (answered by
    102), yielded once."""
    path = tmp_path / "Master.csv"
    path.write_text("")
    data, _ = recorded("answered_ringgroup")
    frames = split_frames(data)
    ringing = next(i for i, f in enumerate(frames) if b"DialStatus: RINGING" in f)
    async with FakeAmiServer() as server, running(server, site, path) as (source, records):
        await until(lambda: source.health().details["connected"] is True)
        await server.play_frames(frames[: ringing + 1])
        await until(lambda: source.health().details["calls_in_progress"] == 1)
        append(path, answered_rows(local_now() - timedelta(minutes=1)))
        server.channels = []  # the call ended while the link was down: nothing in progress
        await server.drop()
        await until(lambda: len(records) == 1)
        await until(lambda: source.health().details["reconnects"] != 0)
    (record,) = records
    assert (record.call_id, record.outcome, record.evidence) == (
        LINKEDID,
        Outcome.ANSWERED,
        Evidence.CDR,
    )
    assert record.answered_by == "102"


async def test_unreadable_records_keep_the_unknown_and_report(
    tmp_path: Path, site: SiteContext
) -> None:
    """With the CDR file missing, the lost call is still handed on (as `unknown`, never
    held forever), and health says the catch-up is failing."""
    path = tmp_path / "absent.csv"
    data, _ = recorded("answered_ringgroup")
    frames = split_frames(data)
    ringing = next(i for i, f in enumerate(frames) if b"DialStatus: RINGING" in f)
    async with FakeAmiServer() as server, running(server, site, path) as (source, records):
        await until(lambda: source.health().details["connected"] is True)
        await server.play_frames(frames[: ringing + 1])
        await until(lambda: source.health().details["calls_in_progress"] == 1)
        server.channels = []  # the call ended while the link was down: nothing in progress
        await server.drop()
        await until(lambda: len(records) == 1)
        health = source.health()
    assert records[0].outcome is Outcome.UNKNOWN
    assert "CDR catch-up failing" in health.summary
    assert health.counters["catchup_failures"] >= 1
