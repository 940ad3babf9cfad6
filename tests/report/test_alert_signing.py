"""The managers' staffing-alert webhook is signed as the staff webhooks are: a real
HTTP receiver checks `X-Ringback-Signature` against the manager's webhook_secret."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from pathlib import Path

from agent.report.watch import AlertWatcher
from agent.store import Store
from tests.conftest import FrozenClock
from tests.peers.cloud_api import HttpPeer, Request, respond
from tests.report.conftest import local
from tests.report.test_alerts import ALERTS, settings_with, spike, store  # noqa: F401

SECRET = "manager-hook-secret-5d1f"


class Receiver(HttpPeer):
    async def handle(self, request: Request, writer: asyncio.StreamWriter) -> None:
        await respond(writer, 204, b"")


def verifies(request: Request, secret: str) -> bool:
    """What a receiver does: HMAC-SHA256 of "<timestamp>.<body>" with the secret."""
    stamp = request.headers.get("x-ringback-timestamp", "")
    sent = request.headers.get("x-ringback-signature", "")
    mac = hmac.new(secret.encode(), stamp.encode() + b"." + request.body, hashlib.sha256)
    return bool(stamp) and hmac.compare_digest(sent, "sha256=" + mac.hexdigest())


async def test_staffing_alert_webhook_is_signed(tmp_path: Path, store: Store) -> None:  # noqa: F811
    """A spike fires one alert: its POST carries a timestamp and a signature that
    verifies with the manager's secret (and not with another), over the body as sent."""
    async with Receiver() as receiver:
        manager = {
            **ALERTS["managers"][0],
            "webhook_url": f"{receiver.url}/hook",
            "webhook_secret": SECRET,
        }
        settings = settings_with(tmp_path, {**ALERTS, "managers": [manager]})
        await spike(store, 40)
        watcher = AlertWatcher(settings, store, FrozenClock(local("2026-11-23 10:00")))
        assert len(await watcher.check_once()) == 1
    [posted] = receiver.requests
    assert posted.path == "/hook"
    assert json.loads(posted.body)["department"] == "service"
    assert verifies(posted, SECRET)
    assert not verifies(posted, "another secret")
    state = await store.fetchall("SELECT webhook_state FROM alerts")
    assert state == [("Service manager: sent",)]


async def test_staffing_alert_webhook_without_secret_is_sent_unsigned(
    tmp_path: Path,
    store: Store,  # noqa: F811
) -> None:
    """No webhook_secret: the POST still goes, without signature headers."""
    async with Receiver() as receiver:
        manager = {**ALERTS["managers"][0], "webhook_url": f"{receiver.url}/hook"}
        settings = settings_with(tmp_path, {**ALERTS, "managers": [manager]})
        await spike(store, 40)
        watcher = AlertWatcher(settings, store, FrozenClock(local("2026-11-23 10:00")))
        await watcher.check_once()
    [posted] = receiver.requests
    assert "x-ringback-signature" not in posted.headers
