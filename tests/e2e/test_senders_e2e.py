"""The real daemon process with real drivers end to end: a call on the fake AMI server
becomes a text; a missed call becomes a PDU on the simulated modem; a failing modem
hands the same text to the cloud, which delivers it once."""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from drivers.senders.gsm.pdu_decode import decode_submit
from drivers.sources.asterisk.fake_server import FakeAmiServer
from tests.e2e.daemon import DaemonProcess, config_text, free_port, write_calls
from tests.peers.cloud_api import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio
from tests.peers.modem import Behaviour, FakeModem

pytestmark = pytest.mark.slow
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _missed(caller: str) -> dict[str, Any]:
    return {
        "source": "x",
        "call_id": "m1",
        "started_at": "2026-11-23T15:00:00Z",
        "ended_at": "2026-11-23T15:00:20Z",
        "direction": "inbound",
        "outcome": "missed",
        "caller_raw": caller,
        "dialed": "5145550102",
        "ring_seconds": 20.0,
    }


def _replay_pbx(tmp_path: Path, caller: str) -> str:
    calls = write_calls(tmp_path / "calls.jsonl", [_missed(caller)])
    return f"  - type: replay\n    name: drill\n    path: {calls}\n"


def _gsm(modem: FakeModem) -> str:
    return (
        f'    - type: gsm\n      name: modem\n      port: {modem.path}\n      pin: "8642"\n'
        "      command_timeout_seconds: 2\n      submit_timeout_seconds: 5\n"
        "      reopen_min_seconds: 0.2\n      not_ready_retry_seconds: 1\n"
    )


def _sent_by(doc: dict[str, Any]) -> int:
    count: int = doc["queue"]["by_state"]["sent"]
    return count


async def _wait(daemon: DaemonProcess, predicate: Any) -> dict[str, Any]:
    doc: dict[str, Any] = await asyncio.to_thread(daemon.wait_status, predicate, 30.0)
    return doc


async def test_missed_call_becomes_a_pdu_on_the_simulated_modem(tmp_path: Path) -> None:
    """A replayed missed call leaves as one SMS-SUBMIT on the pty modem (SIM PIN, echo
    on at boot), to the caller in E.164, carrying the department's text."""
    port = free_port()
    with FakeModem(tmp_path, Behaviour()) as modem:
        config = tmp_path / "ringback.yaml"
        config.write_text(
            config_text(tmp_path, port, _replay_pbx(tmp_path, "4385550111"), _gsm(modem))
        )
        with DaemonProcess(config, port) as daemon:
            await asyncio.to_thread(daemon.wait_ready)
            await _wait(daemon, lambda d: _sent_by(d) == 1)
        assert len(modem.received) == 1
        submit = decode_submit(modem.received[0].hex)
        assert submit.recipient == "+14385550111"
        assert "Garage Test" in submit.text
        assert "Service" in submit.text


async def test_failing_modem_hands_the_text_to_the_cloud_once(tmp_path: Path) -> None:
    """The modem answers +CMS ERROR 42 (network congestion, retry later): the chain
    hands the same text to Twilio at once, which receives exactly one create; the
    outbox shows it sent by twilio and nothing is sent twice on later passes."""
    port = free_port()
    behaviour = Behaviour(outcomes=[42, 42, 42, 42])
    async with FakeTwilio() as twilio:
        with FakeModem(tmp_path, behaviour) as modem:
            senders = _gsm(modem) + (
                f"    - type: twilio\n      name: twilio\n      account_sid: {ACCOUNT_SID}\n"
                f'      auth_token: {AUTH_TOKEN}\n      from: "+15145550100"\n'
                f"      base_url: {twilio.url}\n"
            )
            config = tmp_path / "ringback.yaml"
            pbx = _replay_pbx(tmp_path, "5145550122")
            text = config_text(tmp_path, port, pbx, senders)
            # the text is due once the modem has registered, so the modem itself fails
            config.write_text(text.replace("grace_seconds: 0", "grace_seconds: 4"))
            with DaemonProcess(config, port) as daemon:
                await asyncio.to_thread(daemon.wait_ready)
                doc = await _wait(daemon, lambda d: _sent_by(d) == 1)
                await asyncio.sleep(1.0)  # later dispatcher passes must not resend
                doc = await asyncio.to_thread(daemon.status)
            assert _sent_by(doc) == 1
            assert len(twilio.creates) == 1
            form = twilio.creates[0].form
            assert form["To"] == "+15145550122"
            assert "Garage Test" in form["Body"]
            assert modem.received == []
            assert any(c.startswith("AT+CMGS=") for c in modem.commands)  # the modem was tried
        with sqlite3.connect(tmp_path / "ringback.db") as db:
            senders_used = db.execute("SELECT sender, state FROM messages").fetchall()
        assert senders_used == [("twilio", "sent")]


async def test_asterisk_call_through_the_fake_ami_server_is_texted(tmp_path: Path) -> None:
    """The daemon logs in to the fake AMI server over TCP; the recorded queue-abandon
    stream gives one abandoned_queue call and one text; the PBX shows connected."""
    port = free_port()
    async with FakeAmiServer(
        username="ringback", secret="ami-s3cret", seed=3, max_chunk=97, cut_utf8=True
    ) as ami:
        pbx = (
            f"  - type: asterisk\n    name: pbx\n    host: 127.0.0.1\n    port: {ami.port}\n"
            "    username: ringback\n"
        )
        config = tmp_path / "ringback.yaml"
        config.write_text(
            config_text(tmp_path, port, pbx, "    - type: log\n      name: dry-run\n")
        )
        env = {"RINGBACK_PBX_SECRET": "ami-s3cret"}
        with DaemonProcess(config, port, env=env) as daemon:
            await asyncio.to_thread(daemon.wait_ready)
            await ami.wait_logins(1, within=20.0)
            await ami.wait_action("CoreShowChannels", within=20.0)
            stream = (FIXTURES / "ami" / "queue_abandon.ami").read_bytes()
            await ami.play(_now(stream))
            doc = await _wait(daemon, lambda d: _sent_by(d) == 1)
            assert doc["pbx"]["pbx"]["state"] == "ok"
        assert "text to +14695550123" in daemon.output()
        assert json.dumps(doc).count("4695550123") == 0


def _now(stream: bytes) -> bytes:
    from drivers.sources.asterisk.demo import shift_to_now

    return next(iter(shift_to_now({"s": stream}).values()))


async def test_ip_office_smdr_over_tcp_is_texted_and_old_records_are_not(tmp_path: Path) -> None:
    """IP Office connects to the daemon's SMDR listen port (its usual set-up) and sends,
    in random TCP chunks, a record it buffered years ago and a lost incoming call that
    just ended: both are stored with a decision, only the fresh one is texted."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from tests.peers.smdr_line import TcpClientPeer

    port, smdr_port = free_port(), free_port()
    pbx = (
        "  - type: smdr\n    name: ipo\n    format: avaya_ipoffice\n"
        f"    listen: 127.0.0.1:{smdr_port}\n"
    )
    config = tmp_path / "ringback.yaml"
    config.write_text(config_text(tmp_path, port, pbx, "    - type: log\n      name: dry-run\n"))
    old = (FIXTURES / "smdr" / "avaya-ipoffice.txt").read_text().splitlines()[0]
    old = old.replace(",8004206,", ",5145550144,")  # the 2008 vendor example, valid caller
    start = datetime.now(ZoneInfo("America/Toronto")).strftime("%Y/%m/%d %H:%M:%S")
    fresh = (
        f"{start},00:00:00,9,5145550133,I,5145550102,5145550102,,0,1000099001,0,"
        "E4324,Joe Bloggs,T9161,LINE 5.1,0,0"
    )
    with DaemonProcess(config, port) as daemon:
        await asyncio.to_thread(daemon.wait_ready)
        pbx_peer = TcpClientPeer(smdr_port)
        await pbx_peer.connect(within=20.0)
        await pbx_peer.send(f"{old}\r\n{fresh}\r\n".encode(), random.Random(7))
        doc = await _wait(daemon, lambda d: _sent_by(d) == 1 and d["pipeline"]["calls"] == 2)
        await pbx_peer.close()
        assert doc["pbx"]["ipo"]["counters"]["records"] == 2
    with sqlite3.connect(tmp_path / "ringback.db") as db:
        decisions = sorted(r[0] for r in db.execute("SELECT decision FROM calls"))
    assert decisions == ["notify", "skip:too_old"]
    assert daemon.output().count("text to +15145550133") == 1


async def test_modem_report_after_a_daemon_restart_reaches_its_text(tmp_path: Path) -> None:
    """The carrier's report comes late: the daemon that sent the text is stopped and
    a new one started before the modem emits it; the new daemon's sender finds the
    text through the store (its provider id names the TP-MR) and it is `delivered`."""
    port = free_port()
    with FakeModem(tmp_path, Behaviour(hold_reports=True)) as modem:
        config = tmp_path / "ringback.yaml"
        config.write_text(
            config_text(tmp_path, port, _replay_pbx(tmp_path, "4385550111"), _gsm(modem))
        )
        with DaemonProcess(config, port) as daemon:
            await asyncio.to_thread(daemon.wait_ready)
            await _wait(daemon, lambda d: _sent_by(d) == 1)
        assert len(modem.reports) == 1 and modem.held_reports
        (tmp_path / "notify.sock").unlink()
        with DaemonProcess(config, port) as daemon:
            await asyncio.to_thread(daemon.wait_ready)
            await _wait(daemon, lambda d: d["senders"]["modem"]["state"] == "ok")
            modem.release_reports()
            await _wait(daemon, lambda d: _delivered(tmp_path) == [("gsm:12", "delivered")])
            doc = daemon.status()
        assert doc["senders"]["modem"]["counters"]["delivery_report_recalled"] == 1
        assert doc["senders"]["modem"]["counters"]["delivery_report_unmatched"] == 0


def _delivered(tmp_path: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(tmp_path / "ringback.db") as db:
        return db.execute("SELECT provider_id, delivery FROM messages").fetchall()
