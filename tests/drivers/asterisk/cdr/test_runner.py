"""Where each catch-up read starts: the store's watermark at start, then the last good
read or the calls the link lost, less the overlap, never past the look-back."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from agent.model import CallRecord
from drivers.base import SiteContext
from drivers.sources.asterisk.cdr.runner import CatchupRunner
from tests.conftest import FrozenClock
from tests.drivers.asterisk.cdr.conftest import TZ, make_catchup, make_config

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


@contextlib.asynccontextmanager
async def runner_at(
    tmp_path: Path, stored: datetime | None
) -> AsyncIterator[tuple[CatchupRunner, list[CallRecord]]]:
    path = tmp_path / "Master.csv"
    path.write_text("")

    async def last_call_at(source: str) -> datetime | None:
        assert source == "pbx"
        return stored

    site = SiteContext("t", TZ, clock=FrozenClock(NOW), last_call_at=last_call_at)
    reader, _ = make_catchup(make_config(backend="csv", path=str(path)))
    out: list[CallRecord] = []
    runner = CatchupRunner(reader, site, "pbx", out.append, lambda lid: False)
    task = asyncio.create_task(runner.run(), name="runner")
    try:
        yield runner, out
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def until_runs(runner: CatchupRunner, since: datetime | None = None) -> None:
    async with asyncio.timeout(20):
        while runner.last_run_at is None or (since and runner.last_since == since):  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def test_first_read_starts_at_the_store_watermark(tmp_path: Path) -> None:
    """At start the read begins an overlap (60 min) before the last stored call."""
    async with runner_at(tmp_path, NOW - 3 * HOUR) as (runner, _):
        await until_runs(runner)
    assert runner.last_since == NOW - 4 * HOUR


async def test_read_never_goes_past_the_lookback(tmp_path: Path) -> None:
    """A watermark two days old is capped at `max_lookback_hours` (24 h)."""
    async with runner_at(tmp_path, NOW - 48 * HOUR) as (runner, _):
        await until_runs(runner)
    assert runner.last_since == NOW - 24 * HOUR


async def test_after_a_reconnect_the_read_starts_before_the_calls_lost(tmp_path: Path) -> None:
    """After a link loss, the next read starts an overlap before the earliest call in
    progress at the loss, not at the old store watermark."""
    async with runner_at(tmp_path, NOW - 3 * HOUR) as (runner, _):
        await until_runs(runner)
        first = runner.last_since
        runner.link_lost(NOW - timedelta(minutes=10))
        runner.session([])
        await until_runs(runner, since=first)
    assert runner.last_since == NOW - timedelta(minutes=70)
