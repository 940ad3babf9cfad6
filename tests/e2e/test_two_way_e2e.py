"""Two-way texting through Twilio with the real daemon: a text's delivery seen in
/v1/messages, a caller's reply and STOP read back by polling, a landline (30006)
making its case callback-only, signed webhooks on the status API, and a restart that
re-reads the list without recording a reply twice; `ringback outbox show` lists a
text's delivery reports."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest

from drivers.senders.twilio_signature import signature
from tests.e2e.daemon import DaemonProcess, config_text, free_port, write_calls
from tests.ops.test_outbox import outbox
from tests.peers.cloud_api import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio

pytestmark = pytest.mark.slow
FROM = "+15145550100"
MOBILE, LANDLINE = "+15145550122", "+15145550133"
HOOK = "https://relay.example.com/site-7/hooks/twilio/twilio"


def _missed(call_id: str, caller: str) -> dict[str, Any]:
    return {
        "source": "x", "call_id": call_id, "started_at": "2026-11-23T15:00:00Z",
        "ended_at": "2026-11-23T15:00:20Z", "direction": "inbound", "outcome": "missed",
        "caller_raw": caller, "dialed": "5145550102", "ring_seconds": 20.0,
    }  # fmt: skip


def _config(tmp_path: Path, port: int, twilio: FakeTwilio) -> Path:
    from datetime import UTC, datetime, timedelta

    ended = datetime.now(UTC) - timedelta(seconds=5)
    calls = [_missed("m1", MOBILE[2:]), _missed("m2", LANDLINE[2:])]
    for record in calls:
        record["ended_at"] = ended.isoformat().replace("+00:00", "Z")
        record["started_at"] = (ended - timedelta(seconds=20)).isoformat().replace("+00:00", "Z")
    path = write_calls(tmp_path / "calls.jsonl", calls)
    pbx = f"  - type: replay\n    name: drill\n    path: {path}\n"
    senders = (
        f"    - type: twilio\n      name: twilio\n      account_sid: {ACCOUNT_SID}\n"
        f'      auth_token: {AUTH_TOKEN}\n      from: "{FROM}"\n'
        f"      base_url: {twilio.url}\n      poll_interval_seconds: 0.3\n"
        f"      webhook_url: {HOOK}\n"
    )
    config = tmp_path / "ringback.yaml"
    config.write_text(config_text(tmp_path, port, pbx, senders))
    return config


def _feed(daemon: DaemonProcess, name: str) -> list[dict[str, Any]]:
    response = daemon.get(f"/v1/{name}?limit=100")
    response.raise_for_status()
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def _until(what: str, check: Any) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30.0
    while loop.time() < deadline:
        found = await asyncio.to_thread(check)
        if found:
            return found
        await asyncio.sleep(0.2)
    raise AssertionError(f"never: {what}")


def _db(tmp_path: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(tmp_path / "ringback.db") as db:
        return db.execute(sql).fetchall()


def _post_hook(port: int, form: dict[str, str], sig: str) -> int:
    response = httpx.post(
        f"http://127.0.0.1:{port}/hooks/twilio/twilio",
        data=form,
        headers={"X-Twilio-Signature": sig},
        timeout=5,
    )
    return response.status_code


async def test_two_way_through_twilio_polling_and_webhooks(tmp_path: Path) -> None:
    """Pins the issue's end to end: the mobile's text ends `delivered` in /v1/messages;
    the landline's ends `undelivered` 30006, the number sms_incapable and its case
    callback_only in /v1/cases; the mobile's reply and then STOP arrive by polling (a
    reply, an opt-out); a signed status callback is taken (200), its replay and a
    forged one refused (403); after a restart the list is read again and no reply is
    recorded twice."""
    port = free_port()
    async with FakeTwilio() as twilio:
        twilio.book.fail_after[LANDLINE] = 30006
        config = _config(tmp_path, port, twilio)
        with DaemonProcess(config, port) as daemon:
            await asyncio.to_thread(daemon.wait_ready)
            await _until("both texts final", lambda: len(_until_final(daemon)) == 2)
            by_code = {m["delivery_code"]: m for m in _until_final(daemon)}
            assert set(by_code) == {None, "30006"}
            assert by_code[None]["delivery"] == "delivered"
            assert by_code["30006"]["delivery"] == "undelivered"
            cases = await _until(
                "the landline's case is callback-only",
                lambda: [c for c in _feed(daemon, "cases") if c["callback_only"]],
            )
            assert len(cases) == 1 and cases[0]["caller"].endswith("33")
            assert _db(tmp_path, "SELECT fact, code FROM number_facts") == [
                ("sms_incapable", "30006")
            ]

            twilio.inject_reply(MOBILE, FROM, "yes please call me back")
            await _until("the reply is stored", lambda: len(_feed(daemon, "replies")) == 1)
            twilio.inject_reply(MOBILE, FROM, "STOP")
            await _until(
                "the STOP is an opt-out",
                lambda: _db(tmp_path, "SELECT number_e164 FROM opt_outs") == [(MOBILE,)],
            )

            sid = str(by_code[None]["provider_id"])
            form = {"AccountSid": ACCOUNT_SID, "MessageSid": sid, "MessageStatus": "delivered"}
            signed = signature(HOOK, form, AUTH_TOKEN)
            assert await asyncio.to_thread(_post_hook, port, form, signed) == 200
            assert await asyncio.to_thread(_post_hook, port, form, signed) == 403  # replayed
            assert await asyncio.to_thread(_post_hook, port, form, "Zm9yZ2Vk") == 403
            health = (await asyncio.to_thread(daemon.status))["senders"]["twilio"]
            assert health["counters"]["webhook_forged"] == 1
            assert health["counters"]["webhook_replayed"] == 1
            polls_before = len(twilio.polls)
        replies = _db(tmp_path, "SELECT kind FROM replies ORDER BY id")
        assert replies == [("reply",), ("opt_out",)]
        shown = outbox(config, "show", str(by_code[None]["id"]), "--json")
        assert shown.returncode == 0, shown.stderr
        doc = json.loads(shown.stdout)
        assert doc["delivery"] == "delivered"
        assert [d["state"] for d in doc["deliveries"]] == ["sent", "delivered"]

        (tmp_path / "notify.sock").unlink()  # the first run was killed (SIGKILL)
        with DaemonProcess(config, port) as again:
            await asyncio.to_thread(again.wait_ready)
            doc = await _until(
                "the restarted daemon re-read the replies",
                lambda: _dup(again),
            )
        assert len(twilio.polls) > polls_before
        assert doc["pipeline"]["replies_duplicate"] >= 2
        assert _db(tmp_path, "SELECT kind FROM replies ORDER BY id") == replies
        assert len(twilio.creates) == 3  # two texts and the STOP confirmation, once each


def _until_final(daemon: DaemonProcess) -> list[dict[str, Any]]:
    return [
        m for m in _feed(daemon, "messages")
        if m["template"] != "stop_confirm" and m["delivery"] in ("delivered", "undelivered")
    ]  # fmt: skip


def _dup(daemon: DaemonProcess) -> dict[str, Any] | None:
    doc = daemon.status()
    return doc if doc["pipeline"].get("replies_duplicate", 0) >= 2 else None


async def test_faults_of_our_own_sending_in_status_and_doctor(tmp_path: Path) -> None:
    """Pins the issue's 21612 / 30007 promises with the real daemon: a create refused
    21612 (this `from` cannot reach the number) and a text filtered by the carrier
    (30007) are both in /v1/status `alerts.sending` with their fix and how many numbers
    (never which), the sender is degraded; after the daemon stopped, `ringback doctor`
    names 21612 as a configuration error (fail) and 30007 as carrier filtering (warn)."""
    from drivers.senders.twilio_codes import FIX_21612, FIX_30007
    from tests.ops.test_doctor import doctor

    port = free_port()
    async with FakeTwilio() as twilio:
        twilio.errors[LANDLINE] = 21612
        twilio.book.fail_after[MOBILE] = 30007
        config = _config(tmp_path, port, twilio)
        with DaemonProcess(config, port) as daemon:
            await asyncio.to_thread(daemon.wait_ready)

            def both() -> list[dict[str, Any]] | None:
                found: list[dict[str, Any]] = daemon.status()["alerts"]["sending"]
                return found if len(found) == 2 else None

            faults = await _until("both faults in /v1/status", both)
            doc = daemon.status()
        assert sorted((f["fact"], f["code"], f["numbers"]) for f in faults) == [
            ("filtered", "30007", 1),
            ("misconfigured", "21612", 1),
        ]
        assert {f["code"]: f["fix"] for f in faults} == {"30007": FIX_30007, "21612": FIX_21612}
        assert MOBILE[-7:] not in json.dumps(faults) and LANDLINE[-7:] not in json.dumps(faults)
        assert doc["senders"]["twilio"]["state"] == "degraded"
        _, checks = await doctor(config, limit=1.0)
    assert checks["sending configuration"]["status"] == "fail"
    assert "21612" in checks["sending configuration"]["message"]
    assert checks["sending configuration"]["hint"] == FIX_21612
    assert checks["carrier filtering"]["status"] == "warn"
    assert "30007" in checks["carrier filtering"]["message"]
    assert checks["carrier filtering"]["hint"] == FIX_30007
