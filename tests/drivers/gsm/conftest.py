"""A simulated modem on a pty and a sender wired to it, with small timeouts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from agent.model import InboundText
from drivers.base import SenderContext, SiteContext
from drivers.senders.gsm.config import GsmConfig
from drivers.senders.gsm.sender import GsmSender
from tests.peers.modem import Behaviour, FakeModem


@pytest.fixture
def behaviour() -> Behaviour:
    return Behaviour()


@pytest.fixture
def modem(tmp_path: Path, behaviour: Behaviour) -> Iterator[FakeModem]:
    with FakeModem(tmp_path, behaviour) as fake:
        yield fake


def make_config(port: Path, **overrides: Any) -> GsmConfig:
    options: dict[str, Any] = {
        "name": "modem",
        "port": port,
        "pin": SecretStr("8642"),
        "command_timeout_seconds": 0.5,
        "sim_timeout_seconds": 0.5,
        "prompt_timeout_seconds": 0.5,
        "submit_timeout_seconds": 0.5,
        "reopen_min_seconds": 0.05,
        "reopen_max_seconds": 0.2,
        "device_fault_retry_seconds": 0.3,
        "health_poll_seconds": 0.2,
        "inbox_poll_seconds": 0.5,
        "quiet_seconds": 0.03,
        "not_ready_retry_seconds": 5.0,
    }
    options.update(overrides)
    return GsmConfig(**options)


class Inbox:
    def __init__(self) -> None:
        self.texts: list[InboundText] = []
        self.hook: Callable[[InboundText], None] | None = None

    async def __call__(self, text: InboundText) -> None:
        if self.hook is not None:
            self.hook(text)
        self.texts.append(text)


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
def context(site: SiteContext, inbox: Inbox) -> SenderContext:
    return SenderContext(site, inbox)


async def wait_for(predicate: Callable[[], bool], seconds: float = 15.0) -> None:
    """Until `predicate()` holds (generous: CI machines are shared and slow)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


@pytest.fixture
async def sender(modem: FakeModem, context: SenderContext) -> AsyncIterator[GsmSender]:
    async with GsmSender(make_config(modem.path), context) as started:
        await wait_for(lambda: started.health().state.value == "ok")
        yield started
