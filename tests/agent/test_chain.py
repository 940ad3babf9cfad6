"""The sender chain with real senders against fake peers: failover, stop rules, the
sticky ambiguous sender, the circuit breaker and the per-sender rate limit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import pytest

from agent.model import HealthState, OutgoingText, Rejected, RetryLater, Sent
from agent.send.chain import SenderChain
from drivers.base import SenderContext, SiteContext
from drivers.senders.log import LogSender
from drivers.senders.log_config import LogConfig
from drivers.senders.twilio import TwilioSender
from drivers.senders.webhook import WebhookSender
from tests.conftest import FrozenClock
from tests.drivers.cloud.conftest import TO, twilio_config, webhook_config
from tests.peers.cloud_api import FakeTwilio, FakeWebhook, Step

TEXT = OutgoingText(5, TO, "We missed your call.")


class Ticks:
    """The chain's monotonic clock, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def context(site: SiteContext, clock: FrozenClock) -> SenderContext:
    return SenderContext(SiteContext(site.name, site.tz, site.country, clock))


@pytest.fixture
async def peers() -> AsyncIterator[tuple[FakeWebhook, FakeTwilio]]:
    async with FakeWebhook() as webhook, FakeTwilio() as twilio:
        yield webhook, twilio


async def _open(stack: AsyncExitStack, *senders: object) -> None:
    for sender in senders:
        await stack.enter_async_context(sender)  # type: ignore[arg-type]


def _log(context: SenderContext) -> LogSender:
    return LogSender(LogConfig(name="log", print=False), context)


async def test_failing_webhook_then_twilio(
    peers: tuple[FakeWebhook, FakeTwilio], context: SenderContext
) -> None:
    """Pins failover: a webhook answering 503 (not taken) hands over to Twilio at once."""
    webhook, twilio = peers
    webhook.script(*[Step.reply(503, b"")] * 2)
    hook = WebhookSender(webhook_config(webhook.url), context)
    tw = TwilioSender(twilio_config(twilio.url), context)
    async with AsyncExitStack() as stack:
        await _open(stack, hook, tw)
        outcome = await SenderChain([hook, tw]).send(TEXT)
    assert outcome.sender == "twilio" and isinstance(outcome.result, Sent)
    assert [name for name, _ in outcome.tried] == ["hook", "twilio"]
    assert webhook.delivered == {} and len(twilio.created) == 1


async def test_rejection_stops_the_chain(
    peers: tuple[FakeWebhook, FakeTwilio], context: SenderContext
) -> None:
    """Pins: Rejected (21211) ends the chain; the log sender after it is not tried."""
    _, twilio = peers
    twilio.script(Step.error(400, 21211))
    tw, log = TwilioSender(twilio_config(twilio.url), context), _log(context)
    async with AsyncExitStack() as stack:
        await _open(stack, tw, log)
        outcome = await SenderChain([tw, log]).send(TEXT)
    assert isinstance(outcome.result, Rejected) and outcome.sender == "twilio"
    assert [name for name, _ in outcome.tried] == ["twilio"]


async def test_ambiguous_sender_is_sticky(
    peers: tuple[FakeWebhook, FakeTwilio], context: SenderContext
) -> None:
    """Pins the ambiguous rule: a connection reset after the request reached Twilio
    (and no message found yet) stops the chain (log not tried), and the next attempt
    of that text goes to Twilio first even though log comes first now, which looks it
    up and sends it once."""
    _, twilio = peers
    twilio.script(Step.reset())
    tw, log = TwilioSender(twilio_config(twilio.url), context), _log(context)
    async with AsyncExitStack() as stack:
        await _open(stack, tw, log)
        chain = SenderChain([tw, log])
        first = await chain.send(TEXT)
        chain.senders.reverse()
        second = await chain.send(OutgoingText(5, TO, TEXT.body, attempt=2))
        third = await chain.send(OutgoingText(6, TO, "another text"))
    assert isinstance(first.result, RetryLater) and first.result.ambiguous
    assert [name for name, _ in first.tried] == ["twilio"]
    assert second.sender == "twilio" and isinstance(second.result, Sent)
    assert third.sender == "log"
    assert len(twilio.created) == 1


async def test_breaker_benches_then_tries_again(
    peers: tuple[FakeWebhook, FakeTwilio], context: SenderContext
) -> None:
    """Pins the circuit breaker: after 2 failures (breaker_failures=2) the webhook is
    benched (no request, health DOWN, breaker open), `only=` still reaches it; after
    the cooldown one trial is made and a success closes the breaker."""
    webhook, _ = peers
    webhook.script(*[Step.reply(503, b"")] * 4)
    hook = WebhookSender(
        webhook_config(
            webhook.url, breaker_failures=2, breaker_cooldown_seconds=60, retry_attempts=1
        ),
        context,
    )
    log, ticks = _log(context), Ticks()
    async with AsyncExitStack() as stack:
        await _open(stack, hook, log)
        chain = SenderChain([hook, log], clock=ticks)
        for message_id in (1, 2):
            assert (await chain.send(OutgoingText(message_id, TO, "x"))).sender == "log"
        third = await chain.send(OutgoingText(3, TO, "x"))
        health = chain.health()["hook"]
        assert len(webhook.requests) == 2
        forced = await chain.send(OutgoingText(4, TO, "x"), only="hook")
        ticks.now += 61
        webhook.behave()
        trial = await chain.send(OutgoingText(5, TO, "x"))
        closed = chain.health()["hook"]
    assert [name for name, _ in third.tried] == ["log"]
    assert health.state is HealthState.DOWN and health.details["breaker"] == "open"
    assert health.details["benched_seconds_left"] == 60.0
    assert forced.tried[0][0] == "hook" and isinstance(forced.result, RetryLater)
    assert trial.sender == "hook" and isinstance(trial.result, Sent)
    assert closed.details["breaker"] == "closed" and closed.state is HealthState.OK


async def test_everything_benched_answers_when_to_come_back(context: SenderContext) -> None:
    """Pins the chain's RetryLater when every sender is benched: the shortest time
    until one is usable, every reason joined, nothing tried."""
    drill = LogSender(LogConfig(name="drill", print=False, fail_every=1), context)
    ticks = Ticks()
    chain = SenderChain([drill], clock=ticks)
    for message_id in range(3):
        await chain.send(OutgoingText(message_id, TO, "x"))
    ticks.now += 20
    outcome = await chain.send(OutgoingText(9, TO, "x"))
    assert outcome.tried == ()
    assert outcome.result == RetryLater(100.0, "drill: benched for 100 s after 3 failures")


async def test_rate_limit_spills_to_the_next_sender(
    peers: tuple[FakeWebhook, FakeTwilio], context: SenderContext
) -> None:
    """Pins rate_per_minute: the third text within a minute skips Twilio for the log
    sender; a minute later Twilio takes texts again."""
    _, twilio = peers
    tw = TwilioSender(twilio_config(twilio.url, rate_per_minute=2), context)
    log, ticks = _log(context), Ticks()
    async with AsyncExitStack() as stack:
        await _open(stack, tw, log)
        chain = SenderChain([tw, log], clock=ticks)
        senders = []
        for message_id in range(3):
            senders.append(
                (await chain.send(OutgoingText(message_id, TO, f"t{message_id}"))).sender
            )
            ticks.now += 1
        ticks.now += 60
        senders.append((await chain.send(OutgoingText(9, TO, "later"))).sender)
    assert senders == ["twilio", "twilio", "log", "twilio"]
    assert len(twilio.created) == 3


async def test_unknown_only_name(context: SenderContext) -> None:
    """Pins `only=` naming no configured sender: RetryLater, nothing tried."""
    outcome = await SenderChain([_log(context)]).send(TEXT, only="gsm")
    assert outcome == type(outcome)(RetryLater(60.0, "no sender 'gsm' configured"), None, ())
