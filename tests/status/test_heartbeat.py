"""The outbound heartbeat against a fake cloud receiver over real HTTP: retried,
authenticated, and of no consequence to the daemon when the cloud is down."""

from __future__ import annotations

import asyncio
import json
from collections import deque
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.daemon import DaemonProcess
from tests.peers.cloud_api import HttpPeer, Request, respond
from tests.status.helpers import TOKEN, auth, calls_file, replay_pbx, write_config

pytestmark = pytest.mark.slow

BEAT_TOKEN = "heartbeat-only-9c1e7b2d4f6a8e0c"


class FakeReceiver(HttpPeer):
    """The cloud's heartbeat endpoint: answers the scripted statuses in turn, then 204."""

    def __init__(self, *statuses: int) -> None:
        super().__init__()
        self.statuses = deque(statuses)
        self.accepted: list[Request] = []

    async def handle(self, request: Request, writer: asyncio.StreamWriter) -> None:
        status = self.statuses.popleft() if self.statuses else 204
        if status < 300:
            self.accepted.append(request)
        await respond(writer, status, b"")


async def _heartbeat(http: httpx.AsyncClient) -> dict[str, Any]:
    beat: dict[str, Any] = (await http.get("/v1/status", headers=auth())).json()["heartbeat"]
    return beat


async def test_heartbeat_retries_then_survives_the_cloud_going_away(tmp_path: Path) -> None:
    """The first beat meets two 503s and is delivered on its third try: a POST of the
    status document with the heartbeat's own bearer token (its credential in the
    systemd credentials directory), never the status API's, no full number in it. Then the receiver
    goes away: the failure is reported in /v1/status (and logged once, without the
    URL's path or query), while /livez, /readyz and the feeds keep answering."""
    receiver = await FakeReceiver(503, 503).__aenter__()
    closed = False
    try:
        url = f"{receiver.url}/beat?key=do-not-log-me"
        status = f'  heartbeat_url: "{url}"\n  heartbeat_seconds: 5'
        config, port = write_config(tmp_path, replay_pbx(calls_file(tmp_path, 2)), status=status)
        credentials = tmp_path / "credentials"
        credentials.mkdir()
        (credentials / "status.heartbeat_token").write_text(BEAT_TOKEN + "\n")
        env = {"CREDENTIALS_DIRECTORY": str(credentials)}
        with DaemonProcess(config, port, TOKEN, env=env) as daemon:
            await asyncio.to_thread(daemon.wait_ready)
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
                async with asyncio.timeout(20):
                    while not receiver.accepted:  # noqa: ASYNC110
                        await asyncio.sleep(0.05)
                delivered = receiver.accepted[0]
                assert len(receiver.requests) == 3
                assert delivered.method == "POST"
                assert delivered.path.startswith("/beat")
                assert delivered.headers["authorization"] == f"Bearer {BEAT_TOKEN}"
                assert all(
                    TOKEN not in r.headers.get("authorization", "") for r in receiver.requests
                )
                doc = json.loads(delivered.body)
                assert doc["schema"] == "ringback.status/1"
                assert "43855" not in delivered.body.decode()
                async with asyncio.timeout(20):
                    while (await _heartbeat(http))["beats_ok"] < 1:  # noqa: ASYNC110
                        await asyncio.sleep(0.05)

                await receiver.__aexit__(None, None, None)
                closed = True
                async with asyncio.timeout(30):
                    while (beat := await _heartbeat(http))["beats_failed"] < 1:  # noqa: ASYNC110
                        await asyncio.sleep(0.1)
                assert beat["last_error"] == "ConnectError"
                assert beat["target"] == "http://127.0.0.1"
                assert (await http.get("/livez")).status_code == 200
                assert (await http.get("/readyz", headers=auth())).status_code == 200
                calls = await http.get("/v1/calls", headers=auth())
                assert len(calls.json()["items"]) == 2
    finally:
        if not closed:
            await receiver.__aexit__(None, None, None)
    out = daemon.output()
    assert out.count("heartbeat to http://127.0.0.1 failing") == 1
    assert "do-not-log-me" not in out and TOKEN not in out and BEAT_TOKEN not in out


async def test_heartbeat_without_its_own_token_sends_no_credential(tmp_path: Path) -> None:
    """The status API has a token but the heartbeat none: the beat goes out with no
    Authorization header at all (the API's token is not lent to the receiver)."""
    async with FakeReceiver() as receiver:
        status = f'  heartbeat_url: "{receiver.url}/beat"\n  heartbeat_seconds: 5'
        config, port = write_config(tmp_path, replay_pbx(calls_file(tmp_path, 1)), status=status)
        with DaemonProcess(config, port, TOKEN) as daemon:
            await asyncio.to_thread(daemon.wait_ready)
            async with asyncio.timeout(20):
                while not receiver.accepted:  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
    assert "authorization" not in receiver.accepted[0].headers
