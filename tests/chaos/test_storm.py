"""Chaos: the real `ringback run` under a storm of calls while its peers and its own
process are broken on purpose, then the invariants, printed as a table.

The fake AMI server replays the recorded scenarios with fresh ids, in bursts played
concurrently; between and during bursts (seeded) the daemon is SIGKILLed and
restarted or the AMI link is dropped; the fake Twilio answers 429, 5xx, hangs,
resets and ambiguous 201s between good answers. Calls whose whole stream reached a
connected daemon that was not killed or dropped in that burst must be stored exactly
once with their true outcome; the others (in progress at a kill or drop: another
helper's adoption work) at most once and never with a wrong outcome.
"""

from __future__ import annotations

import asyncio
import random
import signal
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest

from tests.chaos.conftest import SCALE, SEED
from tests.chaos.storm import (
    Copy,
    Invariants,
    Storm,
    check_calls,
    check_logs,
    check_messages,
    now_streams,
    open_messages,
    stored_calls,
)
from tests.e2e.daemon import DaemonProcess, config_text, free_port
from tests.peers.ami_server import FakeAmiServer
from tests.peers.cloud_api import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio, Step

pytestmark = [pytest.mark.chaos, pytest.mark.slow]

AMI_SECRET = "ami-ch40s-s3cret"
WAIT = 120.0  # generous: two cores shared with other jobs


def _twilio(url: str) -> str:
    return (
        f"    - type: twilio\n      name: twilio\n      account_sid: {ACCOUNT_SID}\n"
        f'      auth_token: {AUTH_TOKEN}\n      from: "+15145550100"\n'
        f"      base_url: {url}\n      read_timeout_seconds: 1\n"
        "      connect_timeout_seconds: 1\n      breaker_cooldown_seconds: 1\n"
        "      breaker_failures: 100\n"
    )


def _faults(rng: random.Random, count: int) -> list[Step]:
    """Bad answers among good ones: rate limits, server errors, a hang, resets and
    ambiguous answers (the text was created, the answer lost)."""
    bad: list[Callable[[], Step]] = [
        lambda: Step.error(429, 20429, ("Retry-After", "1")),
        lambda: Step.error(503, 20500),
        lambda: Step.error(500, 20500),
        lambda: Step.hang(2.0),
        Step.reset,
        lambda: Step.reset(create=True),
        lambda: Step.truncate(201, create=True),
    ]
    return [
        rng.choice(bad)() if rng.random() < 0.35 else Step.after_create(201) for _ in range(count)
    ]


async def _until(predicate: Callable[[], object], what: str, limit: float = WAIT) -> None:
    deadline = time.monotonic() + limit
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"never: {what}")
        await asyncio.sleep(0.2)


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


class Site:
    """The daemon, its config and its peers, restarted by the test as it likes."""

    def __init__(self, tmp: Path, ami: FakeAmiServer, twilio: FakeTwilio, storage: Path) -> None:
        self.tmp, self.ami, self.twilio = tmp, ami, twilio
        self.port = free_port()
        self.db = storage / "ringback.db"
        pbx = (
            f"  - type: asterisk\n    name: pbx\n    host: 127.0.0.1\n    port: {ami.port}\n"
            "    username: ringback\n"
        )
        text = config_text(
            tmp,
            self.port,
            pbx,
            _twilio(twilio.url),
            sms_extra="  global_hourly_cap: 100000\n  per_number_daily_cap: 5",
        ).replace(str(tmp / "ringback.db"), str(self.db))
        self.config = tmp / "ringback.yaml"
        self.config.write_text(text)
        self.daemon: DaemonProcess | None = None
        self.logs: list[str] = []
        self.starts = 0

    async def start(self) -> DaemonProcess:
        (self.tmp / "notify.sock").unlink(missing_ok=True)
        logins = self.ami.logins
        daemon = DaemonProcess(self.config, self.port, env={"RINGBACK_PBX_SECRET": AMI_SECRET})
        daemon.__enter__()
        self.daemon = daemon
        await asyncio.to_thread(daemon.wait_ready, WAIT)
        await self.ami.wait_logins(logins + 1, within=WAIT)
        self.starts += 1
        await self.wait_set_up()
        return daemon

    async def wait_set_up(self) -> None:
        """Until every session sent its last set-up action, CoreShowChannels (its event
        filters are then in place)."""

        def set_up() -> bool:
            shows = [
                a for a in self.ami.actions if a.get("Action", "").lower() == "coreshowchannels"
            ]
            return len(shows) >= self.ami.logins

        await _until(set_up, "the AMI session is set up")

    def close(self) -> None:
        """Whatever happened, no daemon left running."""
        if self.daemon is not None:
            self.logs.append(self.daemon.output())
            self.daemon.__exit__(None, None, None)
            self.daemon = None

    def kill(self) -> None:
        assert self.daemon is not None and self.daemon.proc is not None
        self.daemon.proc.send_signal(signal.SIGKILL)
        self.daemon.proc.wait(30)
        self.logs.append(self.daemon.output())
        self.daemon.__exit__(None, None, None)
        self.daemon = None

    async def stop(self) -> int:
        assert self.daemon is not None
        self.daemon.signal(signal.SIGTERM)
        code = await asyncio.to_thread(self.daemon.wait_exit, 60.0)
        self.logs.append(self.daemon.output())
        self.daemon.__exit__(None, None, None)
        self.daemon = None
        return code

    async def play(self, batch: list[Copy]) -> None:
        """The burst's streams at once: each copy's frames interleaved with the others'."""
        await asyncio.gather(*(self.ami.play(s) for s in now_streams(batch)))

    def stored(self, batch: list[Copy]) -> bool:
        found = stored_calls(self.db)
        return all(c.number in found for c in batch)


async def _storm(
    site: Site, storm: Storm, rng: random.Random, rounds: int
) -> tuple[list[Copy], list[Copy], dict[str, int]]:
    """The bursts and the faults; (settled copies, copies in flight, fault counts)."""
    settled: list[Copy] = []
    in_flight: list[Copy] = []
    faults = {"kill": 0, "drop": 0}
    await site.start()
    for number in range(rounds):
        batch = storm.burst(2)
        action = "none" if number == 0 else rng.choice(["none", "none", "kill", "drop"])
        playing = asyncio.create_task(site.play(batch))
        if action == "none":
            await playing
            await _until(partial(site.stored, batch), f"burst {number} stored")
            settled += batch
            continue
        await asyncio.sleep(rng.uniform(0.0, 0.4))
        in_flight += batch
        faults[action] += 1
        if action == "kill":
            site.kill()
            await playing
            await site.start()
        else:
            logins = site.ami.logins
            await site.ami.drop()
            await playing
            await site.ami.wait_logins(logins + 1, within=WAIT)
            await site.wait_set_up()
    await _until(lambda: open_messages(site.db) == 0, "every message ended")
    assert await site.stop() == 0
    return settled, in_flight, faults


async def test_storm_with_kills_drops_and_a_flaky_cloud(
    tmp_path: Path, rng: random.Random, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bursts of calls with SIGKILLs, AMI drops and a misbehaving Twilio; every
    invariant of the table holds at the end."""
    rounds = 4 * SCALE
    storm = Storm(rng)
    async with (
        FakeAmiServer(username="ringback", secret=AMI_SECRET, seed=SEED, max_chunk=211) as ami,
        FakeTwilio() as twilio,
    ):
        twilio.script(*_faults(rng, 40 * rounds))
        site = Site(tmp_path, ami, twilio, tmp_path)
        try:
            settled, in_flight, faults = await _storm(site, storm, rng, rounds)
        finally:
            site.close()
    inv = Invariants()
    stored = check_calls(inv, site.db, settled, in_flight)
    sent_to = [str(m["to"]) for m in twilio.created]
    check_messages(inv, site.db, stored, sent_to)
    check_logs(inv, "\n".join(site.logs), [AMI_SECRET, AUTH_TOKEN], storm.copies)
    title = (
        f"chaos storm: scale {SCALE}, seed {SEED}, {len(storm.copies)} calls in {rounds} "
        f"bursts, {faults['kill']} SIGKILL, {faults['drop']} AMI drops, "
        f"{len(twilio.creates)} Twilio requests"
    )
    with capsys.disabled():
        print(inv.table(title))
    assert not inv.failures, "\n".join(inv.failures)
    assert settled, "no burst ran undisturbed: the exactly-once check saw nothing"


async def test_memory_is_flat_over_repeated_storms(
    tmp_path: Path, rng: random.Random, capsys: pytest.CaptureFixture[str]
) -> None:
    """The daemon's RSS after the last of repeated storms is within a margin of its
    RSS after the second (the first warms caches and imports): no growth per call.
    The limit is measured in the same run, not a fixed number."""
    storms = 4 + SCALE
    storm = Storm(rng)
    samples: list[int] = []
    async with (
        FakeAmiServer(username="ringback", secret=AMI_SECRET, seed=SEED) as ami,
        FakeTwilio() as twilio,
    ):
        site = Site(tmp_path, ami, twilio, tmp_path)
        try:
            daemon = await site.start()
            assert daemon.proc is not None
            for number in range(storms):
                batch = storm.burst(3)
                await site.play(batch)
                await _until(partial(site.stored, batch), f"storm {number} stored")
                await _until(lambda: open_messages(site.db) == 0, "every message ended")
                samples.append(_rss_kib(daemon.proc.pid))
            assert await site.stop() == 0
        finally:
            site.close()
    base = samples[1]
    with capsys.disabled():
        print(f"\nchaos memory: RSS KiB after each of {storms} storms: {samples}")
    assert max(samples[2:]) <= base * 1.25 + 4096, samples
