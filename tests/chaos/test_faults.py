"""Chaos: the store fills up on a size-limited file system under the running daemon,
and every broken YAML file of the corpus is sent to it with SIGHUP and at start.

Full store: the database lives on a small tmpfs the test mounts (root) and fills with
a ballast file; a storm arrives; readiness must say `database: full`, the calls must
be held (memory and spill file), the process must not exit; when the ballast goes,
every call is stored exactly once with its true outcome and texted once.
Broken YAML: SIGHUP with each file keeps the running configuration (same sha256,
still live, `last_reload_ok` false); `ringback run` on each exits 2 with file:line
and no traceback.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import signal
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.chaos.storm import Invariants, Storm, check_calls, check_logs, check_messages
from tests.chaos.test_storm import AMI_SECRET, Site, _until
from tests.e2e.daemon import run_once
from tests.peers.ami_server import FakeAmiServer
from tests.peers.cloud_api import AUTH_TOKEN, FakeTwilio

pytestmark = [pytest.mark.chaos, pytest.mark.slow]

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "bad_yaml"


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A 24 MiB tmpfs (root only: elsewhere the test is skipped, saying why)."""
    mount = tmp_path / "small"
    mount.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a size-limited tmpfs needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=24m", f"ringback-chaos-{uuid.uuid4().hex[:8]}", mount],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", mount], check=False)


def _fill(directory: Path, leave: int) -> Path:
    """A ballast file taking all but `leave` bytes of the file system."""
    ballast = directory / "ballast"
    free = shutil.disk_usage(directory).free
    with ballast.open("wb") as out:
        left = free - leave
        block = b"\0" * (1 << 20)
        while left > 0:
            try:
                out.write(block[: min(left, len(block))])
                out.flush()
            except OSError:
                break
            left -= len(block)
    return ballast


async def test_a_store_that_fills_up_loses_nothing_and_stores_nothing_twice(
    tmp_path: Path, small_fs: Path, rng: random.Random, capsys: pytest.CaptureFixture[str]
) -> None:
    """Full disk under a storm: `database: full`, calls held, process alive; then
    room again: every call once with its true outcome, one text each."""
    storm = Storm(rng)
    async with (
        FakeAmiServer(username="ringback", secret=AMI_SECRET, seed=7) as ami,
        FakeTwilio() as twilio,
    ):
        site = Site(tmp_path, ami, twilio, small_fs)
        try:
            daemon = await site.start()
            warm = storm.burst(1)
            await site.play(warm)
            await _until(lambda: site.stored(warm), "the first burst stored")
            ballast = _fill(small_fs, 0)
            batch = storm.burst(3)
            await site.play(batch)
            doc = await asyncio.to_thread(
                daemon.wait_status,
                lambda d: (
                    d["storage"]["held_calls"] > 0 and d["health"]["checks"]["database"] == "full"
                ),
                120.0,
            )
            assert doc["pipeline"]["store_unwritable"] >= 1
            assert daemon.proc is not None and daemon.proc.poll() is None
            assert (small_fs / "held-calls.jsonl").exists() or doc["pipeline"][
                "held_spill_failed"
            ] > 0
            ballast.unlink()
            await _until(lambda: site.stored(batch), "the held calls stored")
            await asyncio.to_thread(
                daemon.wait_status,
                lambda d: (
                    d["storage"]["held_calls"] == 0 and d["health"]["checks"]["database"] == "ok"
                ),
                120.0,
            )
            await _until(lambda: not (small_fs / "held-calls.jsonl").exists(), "spill removed")
            from tests.chaos.storm import open_messages

            await _until(lambda: open_messages(site.db) == 0, "every message ended")
            assert await site.stop() == 0
        finally:
            site.close()
    inv = Invariants()
    stored = check_calls(inv, site.db, warm + batch, [])
    check_messages(inv, site.db, stored, [str(m["to"]) for m in twilio.created])
    check_logs(inv, "\n".join(site.logs), [AMI_SECRET, AUTH_TOKEN], storm.copies)
    with capsys.disabled():
        print(inv.table(f"chaos full store: {len(storm.copies)} calls, disk filled mid-run"))
    assert not inv.failures, "\n".join(inv.failures)


async def test_every_broken_yaml_of_the_corpus_on_sighup_and_at_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """SIGHUP with each broken file: the daemon stays, on the configuration it runs;
    `ringback run` on each: exit 2, file:line, no traceback."""
    files = sorted(CORPUS.glob("*.yaml"))
    assert len(files) >= 10
    async with (
        FakeAmiServer(username="ringback", secret=AMI_SECRET) as ami,
        FakeTwilio() as twilio,
    ):
        site = Site(tmp_path, ami, twilio, tmp_path)
        try:
            daemon = await site.start()
            good = site.config.read_text()
            sha = daemon.status()["agent"]["config"]["sha256"]
            for number, bad in enumerate(files, 1):
                site.config.write_bytes(bad.read_bytes())
                daemon.signal(signal.SIGHUP)
                await asyncio.to_thread(
                    daemon.wait_count, "STATUS=reload refused: configuration invalid", number, 60
                )
                doc = daemon.status()
                assert doc["agent"]["config"]["sha256"] == sha, bad.name
                assert doc["agent"]["config"]["last_reload_ok"] is False, bad.name
                assert daemon.proc is not None and daemon.proc.poll() is None, bad.name
            site.config.write_text(good)
            assert await site.stop() == 0
        finally:
            site.close()
    exits = {}
    for bad in files:
        target = tmp_path / bad.name
        target.write_bytes(bad.read_bytes())
        result = run_once(target)
        exits[bad.name] = result.returncode
        assert result.returncode == 2, (bad.name, result.stderr[-2000:])
        assert f"{target}:" in result.stderr, bad.name
        assert "Traceback" not in result.stderr, bad.name
    inv = Invariants()
    inv.check("SIGHUP with broken YAML: daemon stays on its config", len(files), [])
    inv.check("start with broken YAML: exit 2 with file:line", len(exits), [])
    with capsys.disabled():
        print(inv.table("chaos broken YAML corpus"))
