"""Fixtures of the cloud sender tests: the fake peers and senders built against them,
with small timeouts and in-call waits so every misbehaviour costs milliseconds."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from drivers.base import SenderContext, SiteContext
from drivers.senders.twilio import TwilioSender
from drivers.senders.twilio_config import TwilioConfig
from drivers.senders.webhook import WebhookSender
from drivers.senders.webhook_config import WebhookConfig
from tests.conftest import FrozenClock
from tests.peers.cloud_api import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    WEBHOOK_SECRET,
    FakeTwilio,
    FakeWebhook,
)

FROM = "+15145550100"
TO = "+15145550199"
FAST = {
    "connect_timeout_seconds": 0.3,
    "read_timeout_seconds": 0.3,
    "retry_attempts": 2,
    "retry_max_wait_seconds": 0.02,
}


def twilio_config(base_url: str, **overrides: Any) -> TwilioConfig:
    data: dict[str, Any] = {
        "type": "twilio",
        "name": "twilio",
        "account_sid": ACCOUNT_SID,
        "auth_token": AUTH_TOKEN,
        "from": FROM,
        "base_url": base_url,
        "poll_interval_seconds": 0,  # polled by hand in the tests that poll
        **FAST,
    }
    data.update(overrides)
    return TwilioConfig.model_validate({k: v for k, v in data.items() if v is not None})


def webhook_config(url: str, **overrides: Any) -> WebhookConfig:
    data: dict[str, Any] = {
        "type": "webhook",
        "name": "hook",
        "url": url,
        "secret": WEBHOOK_SECRET,
        **FAST,
    }
    data.update(overrides)
    return WebhookConfig.model_validate(data)


@pytest.fixture
def context(site: SiteContext, clock: FrozenClock) -> SenderContext:
    return SenderContext(SiteContext(site.name, site.tz, site.country, clock))


@pytest.fixture
async def twilio() -> AsyncIterator[FakeTwilio]:
    async with FakeTwilio() as peer:
        yield peer


@pytest.fixture
async def webhook() -> AsyncIterator[FakeWebhook]:
    async with FakeWebhook() as peer:
        yield peer


TwilioFactory = Callable[..., TwilioSender]
WebhookFactory = Callable[..., WebhookSender]


@pytest.fixture
def make_twilio(twilio: FakeTwilio, context: SenderContext) -> TwilioFactory:
    """`async with make_twilio(**overrides) as sender:` against the fake Twilio."""

    def build(**overrides: Any) -> TwilioSender:
        base_url = overrides.pop("base_url", twilio.url)
        return TwilioSender(twilio_config(base_url, **overrides), context)

    return build


@pytest.fixture
def make_webhook(webhook: FakeWebhook, context: SenderContext) -> WebhookFactory:
    """`async with make_webhook(**overrides) as sender:` against the fake receiver."""

    def build(**overrides: Any) -> WebhookSender:
        url = overrides.pop("url", webhook.url + "/hooks/sms")
        return WebhookSender(webhook_config(url, **overrides), context)

    return build
