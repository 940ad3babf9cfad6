"""The webhook sender against the fake receiver (which checks the HMAC and dedupes
on the idempotency key)."""

from __future__ import annotations

import json
import logging

import pytest

from agent.model import HealthState, OutgoingText, Rejected, RetryLater, Sent
from drivers.base import SenderContext
from drivers.senders.webhook import WebhookSender, signature
from tests.conftest import FrozenClock
from tests.drivers.cloud.conftest import TO, WebhookFactory, webhook_config
from tests.peers.cloud_api import WEBHOOK_SECRET, FakeWebhook, Step

TEXT = OutgoingText(12, TO, "Désolé, nous avons manqué votre appel.", attempt=2)


async def test_signed_json_post_with_idempotency_key(
    webhook: FakeWebhook, make_webhook: WebhookFactory, clock: FrozenClock
) -> None:
    """Pins the request: JSON body, HMAC-SHA256 signature header over the raw body,
    Idempotency-Key = site:message id, and Sent(the receiver's id)."""
    async with make_webhook() as sender:
        result = await sender.send(TEXT)
    (request,) = webhook.requests
    assert request.path == "/hooks/sms"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["idempotency-key"] == "test-site:12"
    expected = signature(WEBHOOK_SECRET.encode(), request.body)
    assert request.headers["x-ringback-signature"] == expected
    assert json.loads(request.body) == {
        "message_id": 12,
        "to": TO,
        "body": TEXT.body,
        "attempt": 2,
        "site": "test-site",
        "created_at": clock.now.isoformat().replace("+00:00", "Z"),
    }
    assert result == Sent("wh-test-site:12")


async def test_4xx_is_rejected_with_the_receivers_reason(
    webhook: FakeWebhook, make_webhook: WebhookFactory
) -> None:
    """Pins 4xx: Rejected, carrying the receiver's printable reason."""
    webhook.script(Step.reply(422, {"error": "number\nblocked"}))
    async with make_webhook() as sender:
        result = await sender.send(TEXT)
    assert result == Rejected("webhook refused the text (HTTP 422): number blocked")


async def test_wrong_secret_is_an_alarm_and_never_logged(
    webhook: FakeWebhook, context: SenderContext, caplog: pytest.LogCaptureFixture
) -> None:
    """Pins 401 (the receiver refuses our signature): RetryLater, health DOWN with the
    alarm, and the secret in no log line, reason or health."""
    caplog.set_level(logging.DEBUG)
    secret = "wrong-webhook-secret-never-log"
    config = webhook_config(webhook.url, secret=secret)
    async with WebhookSender(config, context) as sender:
        result = await sender.send(TEXT)
        health = sender.health()
    assert isinstance(result, RetryLater) and "401" in result.reason
    assert health.state is HealthState.DOWN and health.details["alarm"]
    assert caplog.records
    for blob in (caplog.text, repr(result), repr(health), repr(config)):
        assert secret not in blob


async def test_429_honours_retry_after(webhook: FakeWebhook, make_webhook: WebhookFactory) -> None:
    """Pins 429 with a long Retry-After: no in-call retry, RetryLater(Retry-After)."""
    webhook.script(Step.reply(429, b"", ("Retry-After", "30")))
    async with make_webhook() as sender:
        result = await sender.send(TEXT)
        health = sender.health()
    assert result == RetryLater(30.0, "webhook HTTP 429: rate limited")
    assert health.details["rate_limited_until"] is not None
    assert len(webhook.requests) == 1


async def test_transient_failures_are_retried_in_call_with_the_same_key(
    webhook: FakeWebhook, make_webhook: WebhookFactory
) -> None:
    """Pins the in-call retry: a 500 after the receiver took the text, then 200: one
    delivery (same idempotency key), Sent."""
    webhook.script(Step.after_create(500))
    async with make_webhook() as sender:
        result = await sender.send(TEXT)
    assert isinstance(result, Sent)
    assert len(webhook.requests) == 2
    assert {r.headers["idempotency-key"] for r in webhook.requests} == {"test-site:12"}
    assert list(webhook.delivered) == ["test-site:12"]


@pytest.mark.parametrize(
    ("steps", "ambiguous"),
    [
        ((Step.reply(503, b""), Step.reply(503, b"")), False),
        ((Step.hang(2.0), Step.hang(2.0)), True),
        ((Step.reset(), Step.reset()), True),
        ((Step.reply(502, b"<html>"), Step.reply(500, b"")), True),
    ],
    ids=["503", "hang", "reset", "5xx"],
)
async def test_failures_after_in_call_retries(
    webhook: FakeWebhook, make_webhook: WebhookFactory, steps: tuple[Step, ...], ambiguous: bool
) -> None:
    """Pins the final result when the in-call retries are spent: 503 is a plain retry
    (the receiver says it did not take it); timeouts, resets and other 5xx are
    ambiguous; later failures of that text stay ambiguous."""
    webhook.script(*steps, Step.reply(503, b""), Step.reply(503, b""))
    async with make_webhook() as sender:
        first = await sender.send(TEXT)
        later = await sender.send(TEXT)
    assert isinstance(first, RetryLater) and first.ambiguous is ambiguous
    assert isinstance(later, RetryLater) and later.ambiguous is ambiguous
    assert len(webhook.requests) == 4


async def test_redirect_and_unreachable(
    webhook: FakeWebhook, make_webhook: WebhookFactory, unused_tcp_port: int
) -> None:
    """Pins a redirect (alarm, not followed) and a refused connection (plain retry)."""
    webhook.script(Step.reply(302, b"", ("Location", "http://127.0.0.1:1/")))
    async with make_webhook() as sender:
        moved = await sender.send(TEXT)
        assert sender.health().state is HealthState.DOWN
    async with make_webhook(url=f"http://127.0.0.1:{unused_tcp_port}/x") as sender:
        refused = await sender.send(TEXT)
    assert isinstance(moved, RetryLater) and "redirect" in moved.reason
    assert isinstance(refused, RetryLater) and not refused.ambiguous
