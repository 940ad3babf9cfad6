"""The real daemon fed by the fake AMI server over TCP: a recorded missed call opens a
case; an answered call back from an extension to that number, through AMI, closes it
as reached with its proof (the call, the extension, the time)."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from drivers.sources.asterisk.demo import shift_to_now
from drivers.sources.asterisk.fake_server import FakeAmiServer
from tests.e2e.daemon import DaemonProcess, config_text, free_port
from tests.peers.smtp import PASSWORD, USER, SmtpPeer

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
MISS = ROOT / "tests" / "fixtures" / "ami" / "voicemail_after_ringout.ami"
CALLBACK = ROOT / "drivers" / "sources" / "asterisk" / "demo" / "callback_answered.ami"


def _items(daemon: DaemonProcess, feed: str) -> list[dict[str, Any]]:
    response = daemon.get(f"/v1/{feed}", token=None)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def _until(daemon: DaemonProcess, check: Any, what: str, within: float = 60.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await asyncio.to_thread(check):
        assert loop.time() < deadline, f"{what}: not within {within:.0f} s\n{daemon.output()}"
        await asyncio.sleep(0.2)


def _names_the_miss(message: Any) -> bool:
    return "+1 817-555-0123" in str(message["Subject"])


def _about_the_miss(smtp: SmtpPeer) -> Any:
    return next((m for m in list(smtp.messages) if _names_the_miss(m)), None)


async def test_a_miss_then_an_answered_callback_closes_the_case(tmp_path: Path) -> None:
    """Voicemail after ring-out from 817-555-0123: one open case with an SLA. Then
    extension 101 calls that number and talks 42 s: the case is closed `reached`,
    its proof the outbound call's id, reached by 101 at the callback's start."""
    port = free_port()
    async with FakeAmiServer(username="ringback", secret="ami-s3cret", seed=5) as ami:
        pbx = (
            f"  - type: asterisk\n    name: pbx\n    host: 127.0.0.1\n    port: {ami.port}\n"
            "    username: ringback\n"
        )
        config = tmp_path / "ringback.yaml"
        config.write_text(
            config_text(tmp_path, port, pbx, "    - type: log\n      name: dry-run\n")
        )
        env = {"RINGBACK_PBX_SECRET": "ami-s3cret"}
        streams = shift_to_now({"miss": MISS.read_bytes(), "callback": CALLBACK.read_bytes()})
        with DaemonProcess(config, port, env=env) as daemon:
            await asyncio.to_thread(daemon.wait_ready)
            await ami.wait_logins(1, within=30.0)
            await ami.wait_action("CoreShowChannels", within=30.0)
            await ami.play(streams["miss"])
            await _until(daemon, lambda: len(_items(daemon, "cases")) == 1, "a case")
            (opened,) = _items(daemon, "cases")
            assert (opened["state"], opened["calls"]) == ("open", 1)
            assert opened["sla_due_at"] is not None and opened["caller"].endswith("23")
            await ami.play(streams["callback"])
            await _until(
                daemon, lambda: _items(daemon, "cases")[0]["state"] == "closed", "the proof"
            )
            (case,) = _items(daemon, "cases")
            calls = {c["pbx_call_id"]: c for c in _items(daemon, "calls")}
            proof = calls["1795696400.40"]
            assert (case["resolution"], case["proof_call_id"], case["reached_by"]) == (
                "reached",
                proof["id"],
                "101",
            )
            assert case["reached_at"] == proof["started_at"]
            assert case["first_attempt_at"] == proof["started_at"]
            assert proof["direction"] == "outbound" and proof["outcome"] == "answered"


async def test_a_miss_emails_the_department_after_the_grace_delay(tmp_path: Path) -> None:
    """With `departments.service.notify: [email]` and the real SMTP server (STARTTLS,
    login): the recorded miss reaches service@ as a mail with the whole number and
    the outcome in words, asked for the grace delay after the hang-up and sent
    after that; the daemon's status shows nothing queued or failed afterwards."""
    port = free_port()
    with SmtpPeer(tmp_path) as smtp:
        async with FakeAmiServer(username="ringback", secret="ami-s3cret", seed=5) as ami:
            pbx = (
                f"  - type: asterisk\n    name: pbx\n    host: 127.0.0.1\n    port: {ami.port}\n"
                "    username: ringback\n"
            )
            mail = (
                f"smtp:\n  host: 127.0.0.1\n  port: {smtp.port}\n  username: {USER}\n"
                f"  from_address: ringback@garage.example\n  ca_file: {smtp.cert}\n"
            )
            text = config_text(
                tmp_path, port, pbx, "    - type: log\n      name: dry-run\n", extra=mail
            )
            text = text.replace("grace_seconds: 0", "grace_seconds: 3").replace(
                "    label: Service\n",
                "    label: Service\n    notify:\n"
                "      - type: email\n        to: [service@garage.example]\n",
            )
            config = tmp_path / "ringback.yaml"
            config.write_text(text)
            env = {"RINGBACK_PBX_SECRET": "ami-s3cret", "RINGBACK_SMTP_PASSWORD": PASSWORD}
            streams = shift_to_now({"miss": MISS.read_bytes()})
            with DaemonProcess(config, port, env=env) as daemon:
                await asyncio.to_thread(daemon.wait_ready)
                await ami.wait_logins(1, within=30.0)
                await ami.wait_action("CoreShowChannels", within=30.0)
                await ami.play(streams["miss"])
                # (after digest_at, 07:30 site time, the morning list of open cases
                # goes to the same inbox: the mail of this miss is the one naming it)
                await _until(daemon, lambda: _about_the_miss(smtp) is not None, "the staff mail")
                (case,) = _items(daemon, "cases")
                status = daemon.status()["notifications"]
                assert (status["queued"], status["failed"]) == (0, 0), status
    message = _about_the_miss(smtp)
    assert message is not None
    assert smtp.recipients[smtp.messages.index(message)] == ["service@garage.example"]
    assert sum(_names_the_miss(m) for m in smtp.messages) == 1
    assert isinstance(message, EmailMessage)
    assert "boîte vocale" in str(message.get_content())
    with sqlite3.connect(tmp_path / "ringback.db") as db:
        asked, sent = db.execute(
            "SELECT p.not_before, c.sent_at FROM case_notifications p "
            "JOIN case_notifications c ON c.case_id = p.case_id AND c.target = 'channel:0' "
            "WHERE p.target IS NULL AND p.kind = 'opened'"
        ).fetchone()
        last_miss = db.execute("SELECT last_miss_at FROM cases").fetchone()[0]
    db.close()
    grace = datetime.fromisoformat(asked) - datetime.fromisoformat(last_miss)
    assert grace == timedelta(seconds=3)
    assert sent >= asked and case["state"] == "open"
