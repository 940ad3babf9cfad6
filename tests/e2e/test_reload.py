"""Reload keeps what did not change (issue 14): the real daemon process against the
fake AMI server and the simulated modem, with SIGHUP in the middle of calls."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import time
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest

from agent.model import Outcome
from drivers.base import SiteContext
from drivers.sources.asterisk.config import AsteriskConfig
from drivers.sources.asterisk.demo import shift_to_now
from drivers.sources.asterisk.fake_server import (
    FakeAmiServer,
    live_channels,
    split_frames,
)
from drivers.sources.asterisk.replay import replay
from tests.drivers.asterisk.conftest import SCENARIOS, recorded
from tests.e2e.daemon import DaemonProcess, config_text, free_port, write_calls
from tests.peers.modem import Behaviour, FakeModem

pytestmark = pytest.mark.slow

SECRET = "ami-s3cret"
RELOADED = "STATUS=configuration reloaded"
LOG_SENDER = "    - type: log\n      name: dry-run\n"


def _asterisk(ami: FakeAmiServer, extra: str = "") -> str:
    return (
        f"  - type: asterisk\n    name: pbx\n    host: 127.0.0.1\n    port: {ami.port}\n"
        f"    username: ringback\n    reconnect_min_seconds: 0.2\n{extra}"
    )


def _now(stream: bytes) -> bytes:
    return next(iter(shift_to_now({"s": stream}).values()))


def _true_record(data: bytes) -> tuple[str, str, str | None]:
    """The call id, verdict and who answered when the whole stream is read without a
    reload."""
    site = SiteContext("Garage Test", UTC)
    (record,) = replay(data, AsteriskConfig(name="pbx", secret=SECRET), site)
    return record.call_id, record.outcome.value, record.answered_by


def _stored(db_path: Path) -> dict[str, tuple[str, str | None]]:
    if not db_path.exists():
        return {}
    with sqlite3.connect(db_path) as db:
        rows = db.execute("SELECT pbx_call_id, outcome, answered_by FROM calls").fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


async def _wait_for(predicate: Any, what: str, within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    while not await asyncio.to_thread(predicate):
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.1)


async def _reload(daemon: DaemonProcess, config: Path, text: str, count: int) -> None:
    await asyncio.to_thread(config.write_text, text)
    daemon.signal(signal.SIGHUP)
    await asyncio.to_thread(daemon.wait_count, RELOADED, count, 60.0)


def _in_progress(daemon: DaemonProcess) -> int:
    doc = daemon.status()
    count: int = doc["pbx"]["pbx"]["details"]["calls_in_progress"]
    return count


def _show_channels(ami: FakeAmiServer) -> int:
    return sum(1 for a in ami.actions if a.get("Action", "").lower() == "coreshowchannels")


async def test_reload_in_the_middle_of_every_recorded_scenario_keeps_its_verdict(
    tmp_path: Path,
) -> None:
    """Each recorded Asterisk 22 scenario is played half, the configuration is reloaded
    (the sms section changes, the pbx section does not) while the call is in progress,
    then the rest is played: every stored verdict and answerer is the one the whole
    stream gives without a reload (and the recording's own outcome for inbound calls),
    and the fake server saw ONE login and one session set-up across all the reloads."""
    port = free_port()
    db = tmp_path / "ringback.db"
    async with FakeAmiServer(username="ringback", secret=SECRET, seed=5, max_chunk=61) as ami:
        config = tmp_path / "ringback.yaml"
        text = config_text(tmp_path, port, _asterisk(ami), LOG_SENDER)
        texts = [text, text.replace("grace_seconds: 0", "grace_seconds: 1")]
        config.write_text(texts[0])
        env = {"RINGBACK_PBX_SECRET": SECRET}
        with DaemonProcess(config, port, env=env) as daemon:
            await asyncio.to_thread(daemon.wait_ready, 60.0)
            await ami.wait_action("CoreShowChannels", within=60.0)
            for number, name in enumerate(SCENARIOS, start=1):
                data, expected = recorded(name)
                frames = split_frames(_now(data))
                half = len(frames) // 2
                linkedid, *truth = _true_record(data)
                await ami.play_frames(frames[:half])
                await _wait_for(lambda: _in_progress(daemon) == 1, f"{name} in progress")
                await _reload(daemon, config, texts[number % 2], number)
                await ami.play_frames(frames[half:])
                await _wait_for(lambda lid=linkedid: lid in _stored(db), f"{name} stored")
                outcome, answered_by = (await asyncio.to_thread(_stored, db))[linkedid]
                assert [outcome, answered_by] == truth, name
                if expected["calls"][0]["kind"] == "inbound":
                    assert outcome == expected["expected_outcome"], name
                assert outcome != Outcome.UNKNOWN.value, name
            assert ami.logins == 1
            assert _show_channels(ami) == 1
            doc = await asyncio.to_thread(daemon.status)
        assert doc["pbx"]["pbx"]["counters"]["records_with_gap"] == 0
    assert "Traceback" not in daemon.output()


async def test_changed_pbx_section_restarts_the_source_and_hands_the_call_over(
    tmp_path: Path,
) -> None:
    """A reload that changes the pbx section logs in again (a second login on the fake
    server) and the answered call in progress at that moment is handed to the new
    source: it is stored once, answered by the extension that took it."""
    port = free_port()
    db = tmp_path / "ringback.db"
    data, expected = recorded("answered_ringgroup")
    frames = split_frames(_now(data))
    bridged = [i for i, f in enumerate(frames) if f.startswith(b"Event: BridgeEnter")]
    cut = 1 + bridged[1]  # 102 entered the bridge, then the caller: answered
    linkedid = _true_record(data)[0]
    async with FakeAmiServer(username="ringback", secret=SECRET) as ami:
        config = tmp_path / "ringback.yaml"
        before = config_text(tmp_path, port, _asterisk(ami), LOG_SENDER)
        after = config_text(
            tmp_path, port, _asterisk(ami, "    short_abandon_seconds: 3\n"), LOG_SENDER
        )
        await asyncio.to_thread(config.write_text, before)
        env = {"RINGBACK_PBX_SECRET": SECRET}
        with DaemonProcess(config, port, env=env) as daemon:
            await asyncio.to_thread(daemon.wait_ready, 60.0)
            await ami.wait_action("CoreShowChannels", within=60.0)
            await ami.play_frames(frames[:cut])
            await _wait_for(lambda: _in_progress(daemon) == 1, "call in progress")
            ami.channels = live_channels(b"\r\n\r\n".join(frames[:cut]) + b"\r\n\r\n")
            await _reload(daemon, config, after, 1)
            await ami.wait_logins(2, within=60.0)
            await _wait_for(lambda: _show_channels(ami) == 2, "second session set up")
            await ami.play_frames(frames[cut:])
            await _wait_for(lambda: linkedid in _stored(db), "call stored")
            await asyncio.sleep(0.5)  # the rest of the stream is read before we look
            stored = await asyncio.to_thread(_stored, db)
    assert ami.logins == 2
    assert stored[linkedid] == (Outcome.ANSWERED.value, expected["answered_by"][0])
    assert len(stored) == 1


def _gsm(modem: FakeModem, timeout: int) -> str:
    return (
        f'    - type: gsm\n      name: modem\n      port: {modem.path}\n      pin: "8642"\n'
        f"      command_timeout_seconds: {timeout}\n      submit_timeout_seconds: 5\n"
        "      reopen_min_seconds: 0.2\n      not_ready_retry_seconds: 1\n"
    )


def _missed(call_id: str, caller: str) -> dict[str, Any]:
    return {
        "source": "x",
        "call_id": call_id,
        "started_at": "2026-11-23T15:00:00Z",
        "ended_at": "2026-11-23T15:00:20Z",
        "direction": "inbound",
        "outcome": "missed",
        "caller_raw": caller,
        "dialed": "5145550102",
        "ring_seconds": 20.0,
    }


def _inits(modem: FakeModem) -> int:
    return modem.commands.count("AT+CMGF=0")


async def test_unchanged_modem_is_not_reinitialised_by_a_reload(tmp_path: Path) -> None:
    """The gsm section unchanged: a reload (new replay source) does not re-open or
    re-initialise the simulated modem, and the kept session sends the next text; the
    gsm section changed: the next reload does initialise it again."""
    port = free_port()
    first = write_calls(tmp_path / "first.jsonl", [_missed("m1", "4385550111")])
    second = write_calls(tmp_path / "second.jsonl", [_missed("m2", "4385550122")])
    with FakeModem(tmp_path, Behaviour()) as modem:
        config = tmp_path / "ringback.yaml"

        def text(calls: Path, timeout: int) -> str:
            pbx = f"  - type: replay\n    name: drill\n    path: {calls}\n"
            return config_text(tmp_path, port, pbx, _gsm(modem, timeout))

        await asyncio.to_thread(config.write_text, text(first, 2))
        with DaemonProcess(config, port) as daemon:
            await asyncio.to_thread(daemon.wait_ready, 60.0)
            await _wait_for(lambda: len(modem.received) == 1, "first text on the modem")
            assert _inits(modem) == 1
            await _reload(daemon, config, text(second, 2), 1)
            await _wait_for(lambda: len(modem.received) == 2, "second text on the modem")
            assert _inits(modem) == 1
            await _reload(daemon, config, text(second, 3), 2)
            await _wait_for(lambda: _inits(modem) == 2, "modem initialised again")
    assert "Traceback" not in daemon.output()
