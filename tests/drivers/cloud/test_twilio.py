"""The Twilio sender against the fake Twilio: the request it makes, retries, the
reconciliation of ambiguous attempts, bad answers and unreachable peers."""

from __future__ import annotations

import base64
import logging
import time
from datetime import timedelta

import pytest
from pydantic import ValidationError

from agent.model import HealthState, OutgoingText, Rejected, RetryLater, Sent
from drivers.base import SenderContext
from drivers.senders.twilio import TwilioSender
from tests.conftest import FrozenClock
from tests.drivers.cloud.conftest import FROM, TO, TwilioFactory, twilio_config
from tests.peers.cloud_api import ACCOUNT_SID, AUTH_TOKEN, BlackHole, FakeTwilio, Step

BODY = "Sorry we missed your call - Garage Tremblay. Reply STOP to opt out."
TEXT = OutgoingText(7, TO, BODY)
SERVICE = "MG" + "ab" * 16


async def test_create_request_is_form_encoded_with_basic_auth(
    twilio: FakeTwilio, make_twilio: TwilioFactory
) -> None:
    """Pins the create request: path, basic auth, form fields, ValidityPeriod 900 by
    default, Attempt from the text, StatusCallback when configured; Sent(sid)."""
    async with make_twilio(status_callback="https://cb.example.com/sms") as sender:
        result = await sender.send(OutgoingText(7, TO, BODY, attempt=1))
    assert result == Sent(str(twilio.created[0]["sid"]))
    (request,) = twilio.requests
    assert request.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    pair = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    assert request.headers["authorization"] == f"Basic {pair}"
    assert request.form == {
        "To": TO,
        "From": FROM,
        "Body": BODY,
        "ValidityPeriod": "900",
        "Attempt": "1",
        "StatusCallback": "https://cb.example.com/sms",
    }


async def test_messaging_service_replaces_from(
    twilio: FakeTwilio, make_twilio: TwilioFactory
) -> None:
    """Pins `messaging_service_sid`: sent as MessagingServiceSid, no From."""
    async with make_twilio(**{"from": None, "messaging_service_sid": SERVICE}) as sender:
        assert isinstance(await sender.send(TEXT), Sent)
    form = twilio.creates[0].form
    assert form["MessagingServiceSid"] == SERVICE
    assert "From" not in form


def test_config_wants_exactly_one_sender_id() -> None:
    """Pins the config error when both or neither of from / messaging_service_sid."""
    with pytest.raises(ValidationError, match="exactly one of 'from'"):
        twilio_config("https://api.twilio.com", messaging_service_sid=SERVICE)
    with pytest.raises(ValidationError, match="exactly one of 'from'"):
        twilio_config("https://api.twilio.com", **{"from": None})
    with pytest.raises(ValidationError, match=r"E\.164"):
        twilio_config("https://api.twilio.com", **{"from": "5145550100"})
    with pytest.raises(ValidationError, match="validity_period_seconds"):
        twilio_config("https://api.twilio.com", validity_period_seconds=36001)


async def test_429_with_short_retry_after_is_retried_in_call(
    twilio: FakeTwilio, make_twilio: TwilioFactory
) -> None:
    """Pins the in-call retry honouring a short Retry-After: 429 then 201 = Sent."""
    twilio.script(Step.error(429, 20429, ("Retry-After", "0")))
    async with make_twilio() as sender:
        assert isinstance(await sender.send(TEXT), Sent)
    assert len(twilio.creates) == 2
    assert len(twilio.created) == 1


async def test_429_with_long_retry_after_goes_to_the_store(
    twilio: FakeTwilio, make_twilio: TwilioFactory, clock: FrozenClock
) -> None:
    """Pins a long Retry-After: no in-call wait, RetryLater(after=Retry-After), health
    DEGRADED with rate_limited_until."""
    twilio.script(Step.error(429, 20429, ("Retry-After", "120")))
    async with make_twilio() as sender:
        result = await sender.send(TEXT)
        health = sender.health()
    assert result == RetryLater(120.0, "twilio 20429: too many concurrent requests")
    assert len(twilio.creates) == 1
    assert health.state is HealthState.DEGRADED
    until = (clock.now + timedelta(seconds=120)).isoformat().replace("+00:00", "Z")
    assert health.details["rate_limited_until"] == until


async def test_429_without_retry_after_backs_off_with_jitter(
    twilio: FakeTwilio, make_twilio: TwilioFactory
) -> None:
    """Pins the backoff without Retry-After: in-call retries, then a jittered wait that
    grows with the text's attempt number."""
    twilio.script(*[Step.error(429, 20429)] * 4)
    async with make_twilio() as sender:
        first = await sender.send(OutgoingText(7, TO, BODY, attempt=1))
        fourth = await sender.send(OutgoingText(8, "+15145550111", BODY, attempt=4))
    assert isinstance(first, RetryLater) and 1.0 <= first.after <= 2.0
    assert isinstance(fourth, RetryLater) and 8.0 <= fourth.after <= 16.0
    assert len(twilio.creates) == 4


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_5xx_without_create_is_a_plain_retry_then_resent(
    twilio: FakeTwilio, make_twilio: TwilioFactory, status: int
) -> None:
    """Pins the 5xx path (issue 14): Twilio answered 5xx and the look-up that follows
    found no message, so nothing was created: a plain (not ambiguous) RetryLater,
    which the chain may retry; the next attempt looks again, finds nothing, and
    sends: one message in the end."""
    twilio.script(Step.error(status, 20500))
    async with make_twilio() as sender:
        first = await sender.send(TEXT)
        second = await sender.send(OutgoingText(7, TO, BODY, attempt=2))
    assert isinstance(first, RetryLater)
    assert not first.ambiguous
    assert "no message was created" in first.reason
    assert isinstance(second, Sent)
    assert [r.method for r in twilio.requests] == ["POST", "GET", "GET", "POST"]
    assert twilio.lookups[0].query == {"To": [TO], "PageSize": ["50"]}
    assert twilio.creates[1].form["Attempt"] == "2"
    assert len(twilio.created) == 1


async def test_5xx_with_failed_lookup_stays_ambiguous(
    twilio: FakeTwilio, make_twilio: TwilioFactory
) -> None:
    """Pins: after a 5xx whose look-up itself fails, nothing proves the message was not
    created, so the text stays ambiguous (never handed to another sender blindly)."""
    twilio.script(Step.error(500, 20500))
    twilio.script_list(Step.reply(502, b"bad gateway"))
    async with make_twilio() as sender:
        result = await sender.send(TEXT)
    assert isinstance(result, RetryLater) and result.ambiguous
    assert len(twilio.creates) == 1


@pytest.mark.parametrize(
    "step",
    [
        Step.after_create(500),
        Step.hang(2.0, create=True),
        Step.reset(create=True),
        Step.truncate(201),
    ],
    ids=["500-after-create", "hang-past-read-timeout", "reset-after-read", "truncated-201"],
)
async def test_ambiguous_failure_after_create_is_found_not_resent(
    twilio: FakeTwilio, make_twilio: TwilioFactory, step: Step
) -> None:
    """Pins reconciliation: when Twilio created the message but the answer was lost
    (5xx, read timeout, reset, truncated body), the lookup finds it: Sent(that sid),
    and no second create."""
    twilio.script(step)
    async with make_twilio() as sender:
        result = await sender.send(TEXT)
        counters = sender.health().counters
    assert result == Sent(str(twilio.created[0]["sid"]))
    assert len(twilio.creates) == 1
    assert counters["reconciled"] == 1


@pytest.mark.parametrize(
    "step",
    [Step.hang(2.0), Step.reset(), Step.reply(201, b"<html>oops</html>")],
    ids=["hang", "reset", "non-json-201"],
)
async def test_ambiguous_failure_without_create_stays_ambiguous(
    twilio: FakeTwilio, make_twilio: TwilioFactory, step: Step
) -> None:
    """Pins the ambiguous result (never an exception) when nothing can be found yet."""
    twilio.script(step)
    async with make_twilio() as sender:
        result = await sender.send(TEXT)
    assert isinstance(result, RetryLater) and result.ambiguous
    assert len(twilio.creates) == 1


async def test_retry_after_restart_finds_earlier_message(
    twilio: FakeTwilio, make_twilio: TwilioFactory, clock: FrozenClock
) -> None:
    """Pins attempt > 1 with no memory of the earlier attempt (a restart): a matching
    message (same To, From, body, created within the lookback) is reported Sent; an
    old one or another body is not."""
    twilio.record({"To": TO, "From": FROM, "Body": BODY}, clock.now - timedelta(days=1))
    twilio.record({"To": TO, "From": FROM, "Body": "other"}, clock.now - timedelta(minutes=5))
    recent = twilio.record({"To": TO, "From": FROM, "Body": BODY}, clock.now - timedelta(hours=1))
    async with make_twilio() as sender:
        found = await sender.send(OutgoingText(7, TO, BODY, attempt=3))
        twilio.created.remove(recent)
        fresh = await sender.send(OutgoingText(7, TO, BODY, attempt=4))
    assert found == Sent(str(recent["sid"]))
    assert isinstance(fresh, Sent) and fresh != found
    assert len(twilio.creates) == 1


async def test_failed_lookup_blocks_the_resend(
    twilio: FakeTwilio, make_twilio: TwilioFactory
) -> None:
    """Pins: a text with attempt > 1 is never re-posted when the lookup fails."""
    twilio.script_list(Step.reply(502, b"bad gateway"))
    async with make_twilio() as sender:
        result = await sender.send(OutgoingText(7, TO, BODY, attempt=2))
    assert isinstance(result, RetryLater) and not result.ambiguous
    assert result.reason.startswith("cannot check for an earlier attempt")
    assert twilio.creates == []


async def test_redirect_is_a_configuration_alarm(
    twilio: FakeTwilio, make_twilio: TwilioFactory
) -> None:
    """Pins a redirect (not followed): RetryLater, health DOWN naming base_url."""
    twilio.script(Step.reply(301, b"", ("Location", "https://elsewhere.example/")))
    async with make_twilio() as sender:
        result = await sender.send(TEXT)
        health = sender.health()
    assert isinstance(result, RetryLater) and not result.ambiguous
    assert health.state is HealthState.DOWN and "base_url" in health.summary
    assert len(twilio.requests) == 1


@pytest.mark.parametrize("where", ["dns", "refused", "blackhole"])
async def test_unreachable_twilio_is_a_plain_retry(
    make_twilio: TwilioFactory, unused_tcp_port: int, where: str
) -> None:
    """Pins DNS failure, refused connection and connect timeout: RetryLater, not
    ambiguous (the text provably never left), quickly."""
    hole = BlackHole()
    url = {
        "dns": "http://ringback-test.invalid",
        "refused": f"http://127.0.0.1:{unused_tcp_port}",
        "blackhole": hole.url,
    }[where]
    started = time.monotonic()
    try:
        async with make_twilio(base_url=url) as sender:
            result = await sender.send(TEXT)
    finally:
        hole.close()
    assert isinstance(result, RetryLater) and not result.ambiguous
    assert "connect" in result.reason or "unreachable" in result.reason
    assert time.monotonic() - started < 2.0


async def test_bad_credentials_never_leak_the_token(
    twilio: FakeTwilio, context: SenderContext, caplog: pytest.LogCaptureFixture
) -> None:
    """Pins 20003 with a wrong token: alarm, queue kept, and the token appears in no
    log line (at DEBUG, httpx included), reason or health."""
    caplog.set_level(logging.DEBUG)
    secret = "wrong-t0ken-do-not-log-me"
    config = twilio_config(twilio.url, auth_token=secret)
    async with TwilioSender(config, context) as sender:
        result = await sender.send(TEXT)
        health = sender.health()
    assert isinstance(result, RetryLater) and "20003" in result.reason
    assert health.state is HealthState.DOWN
    assert caplog.records, "expected log lines to inspect"
    for blob in (caplog.text, repr(result), repr(health), repr(config)):
        assert secret not in blob
        assert base64.b64encode(f"{ACCOUNT_SID}:{secret}".encode()).decode() not in blob


async def test_health_after_success(
    twilio: FakeTwilio, make_twilio: TwilioFactory, clock: FrozenClock
) -> None:
    """Pins the health details after a send: provider, state, last success, status."""
    async with make_twilio() as sender:
        assert sender.health().details["state"] == "idle"
        await sender.send(TEXT)
        health = sender.health()
    assert health.state is HealthState.OK
    assert health.details == {
        "provider": "twilio",
        "state": "ok",
        "last_success_at": clock.now.isoformat().replace("+00:00", "Z"),
        "last_http_status": 201,
        "rate_limited_until": None,
        "alarm": None,
        "degraded": None,
    }
    assert health.counters["sent"] == 1


async def test_send_outside_context_is_a_retry(make_twilio: TwilioFactory) -> None:
    """Pins send() before __aenter__: RetryLater, no exception."""
    result = await make_twilio().send(TEXT)
    assert isinstance(result, RetryLater) and "not started" in result.reason


async def test_opt_out_is_rejected_with_flag(
    twilio: FakeTwilio, make_twilio: TwilioFactory
) -> None:
    """Pins 21610: Rejected(opt_out=True), health stays OK (the path works)."""
    twilio.script(Step.error(400, 21610))
    async with make_twilio() as sender:
        result = await sender.send(TEXT)
        assert sender.health().state is HealthState.OK
    assert isinstance(result, Rejected) and result.opt_out


@pytest.mark.parametrize(
    ("code", "state"), [(30003, HealthState.OK), (30007, HealthState.DEGRADED)]
)
async def test_a_handset_off_leaves_the_sender_healthy(
    twilio: FakeTwilio, make_twilio: TwilioFactory, code: int, state: HealthState
) -> None:
    """Pins 30003 (the handset is off for now) at create time: the text waits, the
    number is `unreachable`, and the sender stays OK (Twilio answered; the fault is
    the number's), where 30007 (our traffic filtered) degrades it."""
    twilio.script(Step.error(400, code))
    async with make_twilio() as sender:
        result = await sender.send(TEXT)
        health = sender.health()
    assert isinstance(result, RetryLater) and str(code) in result.reason
    assert health.state is state
    assert health.details["state"] == ("ok" if state is HealthState.OK else "failing")
