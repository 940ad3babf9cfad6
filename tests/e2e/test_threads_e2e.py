"""Two-way threads and the CRM hand-off on the real daemon, fed by the fake AMI server
over TCP:

- the caller's conversation is answered through the sender that reached them first,
  from the status API (`POST /v1/cases/{id}/reply`), the CLI (`ringback reply`) and
  the desk alike; a number that opted out is refused with the reason by all three;
- a missed call reaches the dealership's CRM as an ADF 1.0 lead by e-mail (the real
  SMTP server, down at first, then up: retried from the store, delivered once) and
  as signed JSON events received by a local aiohttp server.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import xml.etree.ElementTree as ET
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest

from drivers.sources.asterisk.demo import shift_to_now
from drivers.sources.asterisk.fake_server import FakeAmiServer
from tests.cases.adf_dtd import validate
from tests.cases.test_notify import SECRET, Receiver, receiver
from tests.desk.site import PASSWORDS, log_in
from tests.e2e.daemon import DaemonProcess, config_text, free_port
from tests.peers.smtp import PASSWORD, USER, SmtpPeer

pytestmark = pytest.mark.slow
__all__ = ["receiver"]

ROOT = Path(__file__).resolve().parents[2]
MISS = ROOT / "tests" / "fixtures" / "ami" / "voicemail_after_ringout.ami"
CALLBACK = ROOT / "drivers" / "sources" / "asterisk" / "demo" / "callback_answered.ami"
DTD = ROOT / "tests" / "fixtures" / "adf" / "adf-1.0.dtd"
WRITE_TOKEN = "threads-write-token-0123456789abcdef0123456789ab"
CALLER = "+18175550123"
# The modem cannot send (a drill: every send answers RetryLater), so the chain's
# second sender, the cloud, is the one that reaches the caller first.
DESK = """
desk:
  listen: "127.0.0.1:{port}"
  users:
    - {{name: ana, role: staff, departments: [service], language: fr}}
"""
SENDERS = (
    "    - type: log\n      name: modem\n      print: false\n      fail_every: 1\n"
    "    - type: log\n      name: cloud\n      print: false\n"
)


def _pbx(port: int) -> str:
    return (
        f"  - type: asterisk\n    name: pbx\n    host: 127.0.0.1\n    port: {port}\n"
        "    username: ringback\n"
    )


def _db(tmp: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with sqlite3.connect(tmp / "ringback.db", timeout=10) as db:
        rows = db.execute(sql, params).fetchall()
    db.close()
    return rows


async def _until(daemon: DaemonProcess, check: Any, what: str, within: float = 60.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await asyncio.to_thread(check):
        assert loop.time() < deadline, f"{what}: not within {within:.0f} s\n{daemon.output()}"
        await asyncio.sleep(0.2)


def _cli_reply(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agent.cli.parser", "reply", *args, "-c", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "RINGBACK_PBX_SECRET": "ami-s3cret"},
    )


def _desk_reply(desk_port: int, case_id: int, text: str) -> tuple[int, str]:
    """ana answers from the case page: (status, the page she lands on)."""
    with httpx.Client(base_url=f"http://127.0.0.1:{desk_port}", timeout=10) as c:
        log_in(c, "ana")
        page = c.get(f"/desk/cases/{case_id}").text
        token = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        done = c.post(f"/desk/cases/{case_id}/reply", data={"csrf": token, "text": text})
        if done.status_code != 303:
            return done.status_code, done.text
        return done.status_code, c.get(done.headers["location"]).text


def _desk_page(desk_port: int, case_id: int) -> str:
    with httpx.Client(base_url=f"http://127.0.0.1:{desk_port}", timeout=10) as c:
        log_in(c, "ana")
        return c.get(f"/desk/cases/{case_id}").text


def _api_reply(port: int, case_id: int, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(
        f"http://127.0.0.1:{port}/v1/cases/{case_id}/reply",
        json=body,
        headers={"Authorization": f"Bearer {WRITE_TOKEN}"},
        timeout=10,
    )


def _drills(daemon: DaemonProcess) -> int:
    counters: dict[str, int] = daemon.status()["senders"]["modem"]["counters"]
    return int(counters.get("drill_retry", 0))


def _reply_site(tmp: Path, ami_port: int) -> tuple[Path, int, int]:
    port, desk_port = free_port(), free_port()
    token = tmp / "status.write_token"
    token.write_text(WRITE_TOKEN + "\n")
    text = config_text(
        tmp,
        port,
        _pbx(ami_port),
        SENDERS,
        extra=DESK.format(port=desk_port),
        status_extra=f"  write_token_file: {token}",
    )
    config = tmp / "ringback.yaml"
    config.write_text(text)
    subprocess.run(
        [sys.executable, "-m", "agent.cli.parser", "desk", "passwd", "ana", "-c", str(config)],
        input=f"{PASSWORDS['ana']}\n{PASSWORDS['ana']}\n",
        text=True,
        check=True,
        capture_output=True,
    )
    return config, port, desk_port


async def test_answers_go_through_the_sender_that_reached_the_caller_first(
    tmp_path: Path,
) -> None:
    """The missed-call text leaves through the cloud (the modem fails); then the API,
    `ringback reply` and the desk each answer the case: three outbox rows pinned to
    the cloud (`via`), sent by it, the modem never tried again, and the case page
    shows the one conversation in order with who wrote each. After the caller's STOP
    all three refuse with the reason (409 from the API and the desk, which keeps the
    words typed; exit 1 from the CLI) and queue nothing."""
    async with FakeAmiServer(username="ringback", secret="ami-s3cret", seed=5) as ami:
        config, port, desk_port = _reply_site(tmp_path, ami.port)
        env = {"RINGBACK_PBX_SECRET": "ami-s3cret"}
        with DaemonProcess(config, port, token=WRITE_TOKEN, env=env) as daemon:
            await asyncio.to_thread(daemon.wait_ready)
            await ami.wait_logins(1, within=30.0)
            await ami.wait_action("CoreShowChannels", within=30.0)
            await ami.play(shift_to_now({"miss": MISS.read_bytes()})["miss"])
            sent = "SELECT sender FROM messages WHERE state = 'sent'"
            await _until(daemon, lambda: _db(tmp_path, sent) == [("cloud",)], "the text")
            tried = await asyncio.to_thread(_drills, daemon)
            (case_id,) = _db(tmp_path, "SELECT id FROM cases")[0]

            api = await asyncio.to_thread(
                _api_reply, port, case_id, {"text": "Bonjour, ici le BDC.", "by": "bdc"}
            )
            assert api.status_code == 201, api.text
            queued = api.json()
            assert (queued["via"], queued["state"], queued["by"]) == ("cloud", "pending", "bdc")
            assert queued["to_e164"].endswith("23") and "8175550" not in queued["to_e164"]
            cli = await asyncio.to_thread(
                _cli_reply, config, str(case_id), "--text", "On vous rappelle.", "--as", "julie"
            )
            assert cli.returncode == 0, cli.stderr
            assert "through cloud" in cli.stdout and "8175550" not in cli.stdout
            status, page = await asyncio.to_thread(
                _desk_reply, desk_port, case_id, "Ana du Service ici."
            )
            assert status == 303 and "Texto en route." in page

            replies = (
                "SELECT body, via, sender, state FROM messages "
                "WHERE template = 'staff_reply' ORDER BY id"
            )
            await _until(
                daemon,
                lambda: [r[3] for r in _db(tmp_path, replies)] == ["sent"] * 3,
                "the three answers",
            )
            assert _db(tmp_path, replies) == [
                ("Bonjour, ici le BDC.", "cloud", "cloud", "sent"),
                ("On vous rappelle.", "cloud", "cloud", "sent"),
                ("Ana du Service ici.", "cloud", "cloud", "sent"),
            ]
            assert await asyncio.to_thread(_drills, daemon) == tried  # the modem never tried

            page = await asyncio.to_thread(_desk_page, desk_port, case_id)
            thread = page.split('id="thread"', 1)[1].split("</ol>", 1)[0]
            order = [thread.index(t) for t in ("le BDC", "On vous rappelle", "Ana du Service")]
            assert order == sorted(order)
            assert all(who in thread for who in ("bdc", "julie", "ana", "envoyé"))

            # The caller's STOP (as a sender records it), then every entry point refuses.
            _db(
                tmp_path,
                "INSERT INTO opt_outs (number_e164, at, keyword, origin) "
                "VALUES (?, '2026-12-01T12:00:00.000000+00:00', 'stop', 'cloud')",
                (CALLER,),
            )
            before = _db(tmp_path, "SELECT COUNT(*) FROM messages")
            api = await asyncio.to_thread(_api_reply, port, case_id, {"text": "Encore moi"})
            assert api.status_code == 409, api.text
            assert api.json()["error"] == "opted_out" and "STOP" in api.json()["detail"]
            cli = await asyncio.to_thread(_cli_reply, config, str(case_id), "--text", "Encore moi")
            assert (
                cli.returncode == 1 and "no more texts" in cli.stderr and "opted_out" in cli.stderr
            )
            status, page = await asyncio.to_thread(_desk_reply, desk_port, case_id, "Encore moi")
            assert status == 409 and "ne plus recevoir de textos" in page
            assert ">Encore moi</textarea>" in page  # her words kept
            assert _db(tmp_path, "SELECT COUNT(*) FROM messages") == before

            empty = await asyncio.to_thread(_api_reply, port, case_id, {"text": "  "})
            unknown = await asyncio.to_thread(_api_reply, port, 999, {"text": "Allo"})
            assert (empty.status_code, empty.json()["error"]) == (422, "text_empty")
            assert unknown.status_code == 404


async def test_a_missed_call_reaches_the_crm_once_though_smtp_was_down(
    tmp_path: Path, receiver: Receiver
) -> None:
    """The CRM's mail server is down when the case opens: the lead waits in the store
    (its error kept) while the signed `case.opened` event arrives; the server comes
    up and the lead arrives, valid against the ADF 1.0 DTD; the call back answered
    on the PBX sends `case.reached`, and still one lead only."""
    hooks = receiver
    port = free_port()
    smtp = SmtpPeer(tmp_path)  # not started yet: nothing listens on its port
    async with FakeAmiServer(username="ringback", secret="ami-s3cret", seed=5) as ami:
        mail = (
            f"smtp:\n  host: 127.0.0.1\n  port: {smtp.port}\n  username: {USER}\n"
            f"  from_address: ringback@garage.example\n  ca_file: {smtp.cert}\n"
            "  timeout_seconds: 5\n"
        )
        crm = (
            "    crm:\n      adf_email: leads@crm.garage.example\n"
            f"      webhook:\n        url: {hooks.url}/crm\n        secret: {SECRET}\n"
            "      vendor_name: Garage Test & Fils\n      retry_seconds: 1\n"
        )
        text = config_text(tmp_path, port, _pbx(ami.port), SENDERS, extra=mail)
        text = text.replace("    label: Service\n", "    label: Service\n" + crm)
        config = tmp_path / "ringback.yaml"
        config.write_text(text)
        env = {"RINGBACK_PBX_SECRET": "ami-s3cret", "RINGBACK_SMTP_PASSWORD": PASSWORD}
        streams = shift_to_now({"miss": MISS.read_bytes(), "callback": CALLBACK.read_bytes()})
        with DaemonProcess(config, port, env=env) as daemon:
            await asyncio.to_thread(daemon.wait_ready)
            await ami.wait_logins(1, within=30.0)
            await ami.wait_action("CoreShowChannels", within=30.0)
            await ami.play(streams["miss"])
            lead_row = (
                "SELECT state, attempts, last_error FROM case_notifications "
                "WHERE target = 'crm:adf'"
            )

            def failed_once() -> bool:
                rows = _db(tmp_path, lead_row)
                return bool(rows) and rows[0][1] >= 1 and rows[0][0] == "pending"

            await _until(daemon, failed_once, "a failed try at the lead")
            assert "cannot" in _db(tmp_path, lead_row)[0][2]
            await _until(daemon, lambda: len(hooks.got) == 1, "case.opened")
            with smtp:
                await _until(daemon, lambda: len(smtp.messages) == 1, "the lead")
                await ami.play(streams["callback"])
                await _until(daemon, lambda: len(hooks.got) == 2, "case.reached")
                assert len(smtp.messages) == 1  # the server still listens: no second lead
    assert [h["event"] for h in hooks.got] == ["case.opened", "case.reached"]
    assert all(h["signed"] for h in hooks.got) and hooks.refused == 0
    assert hooks.got[1]["reached_by"] == "101" and hooks.got[1]["caller"] == CALLER
    assert smtp.recipients == [["leads@crm.garage.example"]]
    lead = smtp.messages[0]
    assert isinstance(lead, EmailMessage) and lead["Subject"].startswith("Garage Test & Fils")
    document = str(lead.get_content())
    assert validate(document, DTD) == []
    root = ET.fromstring(document.encode())
    assert root.findtext("prospect/customer/contact/phone") == CALLER
    assert root.findtext("prospect/vendor/vendorname") == "Garage Test & Fils"
    rows = _db(tmp_path, "SELECT state, attempts FROM case_notifications WHERE target = 'crm:adf'")
    assert rows[0][0] == "sent" and rows[0][1] >= 2
