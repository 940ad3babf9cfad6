"""Every request the Twilio sender makes, validated against Twilio's official OpenAPI
spec (tests/fixtures/twilio_api_v2010.json, twilio/twilio-oai d50069b) by Stoplight
Prism. Prism answers 422 to a request the spec refuses, 401 without basic auth, 415
to JSON: the sender would then not answer Sent.

Prism comes from `scripts/install-prism` (.tools/). Without it the test skips, unless
the environment variable CI is set: in CI a missing Prism fails the test.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from agent.model import OutgoingText, Sent
from drivers.base import SenderContext
from drivers.senders.twilio import TwilioSender
from tests.drivers.cloud.conftest import TO, twilio_config

ROOT = Path(__file__).resolve().parents[3]
PRISM = ROOT / ".tools" / "node_modules" / ".bin" / "prism"
SPEC = ROOT / "tests" / "fixtures" / "twilio_api_v2010.json"
SERVICE = "MG" + "cd" * 16


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _wait_ready(url: str, proc: asyncio.subprocess.Process) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(300):
            if proc.returncode is not None:
                raise RuntimeError(f"prism exited with {proc.returncode}")
            try:
                await client.get(url + "/2010-04-01/Accounts.json", timeout=1.0)
                return
            except httpx.TransportError:
                await asyncio.sleep(0.1)
    raise RuntimeError("prism did not start within 30 s")


@asynccontextmanager
async def prism_running(*args: str) -> AsyncIterator[str]:
    """`prism <args> SPEC...` on a free loopback port; its URL while it runs."""
    if not PRISM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but Prism is missing at {PRISM}: run scripts/install-prism")
        pytest.skip("Prism not installed (run scripts/install-prism); CI unset")
    port = _free_port()
    command, *rest = args
    proc = await asyncio.create_subprocess_exec(
        str(PRISM),
        command,
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
        str(SPEC),
        *rest,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        await _wait_ready(url, proc)
        yield url
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()


@pytest.fixture
async def prism() -> AsyncIterator[str]:
    async with prism_running("mock") as url:
        yield url


@pytest.mark.parametrize(
    "sender_id",
    [{}, {"from": None, "messaging_service_sid": SERVICE}],
    ids=["from", "messaging-service"],
)
async def test_requests_satisfy_the_official_spec(
    prism: str, context: SenderContext, sender_id: dict[str, object]
) -> None:
    """Pins the create request (From or MessagingServiceSid, ValidityPeriod, Attempt,
    StatusCallback, basic auth, form encoding) and the reconciliation lookup (attempt 2:
    GET with To and PageSize) as valid against Twilio's spec: both reach Sent."""
    config = twilio_config(
        prism,
        status_callback="https://status.example.com/twilio",
        read_timeout_seconds=10.0,
        connect_timeout_seconds=5.0,
        **sender_id,
    )
    async with TwilioSender(config, context) as sender:
        first = await sender.send(OutgoingText(1, TO, "Sorry we missed your call"))
        retry = await sender.send(OutgoingText(2, TO, "Sorry we missed your call", attempt=2))
        health = sender.health()
    assert isinstance(first, Sent) and first.provider_id.startswith("SM")
    assert isinstance(retry, Sent)
    assert health.details["last_http_status"] == 201


async def test_poll_request_satisfies_the_official_spec(prism: str, context: SenderContext) -> None:
    """Pins the poll's list request (`DateSent>` as an RFC 3339 time, `PageSize`, basic
    auth) as valid against Twilio's spec: Prism answers a page, not 422/401."""
    config = twilio_config(prism, read_timeout_seconds=10.0, connect_timeout_seconds=5.0)
    async with TwilioSender(config, context) as sender:
        await sender.poll_once()
        health = sender.health()
    assert health.counters["poll_pages"] >= 1
    assert health.counters["poll_failed"] == 0
    assert health.details["last_http_status"] == 200
