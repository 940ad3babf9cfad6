"""Twilio's webhooks handed to the sender: the signature (Twilio's documented
example), a forged or replayed post, and one hand-over path shared with the poll."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from agent.model import Delivery, DeliveryReport, InboundText
from drivers.base import SenderContext, SiteContext
from drivers.senders.twilio import TwilioSender
from drivers.senders.twilio_signature import signature, valid
from tests.conftest import FrozenClock
from tests.drivers.cloud.conftest import FROM, TO, twilio_config
from tests.peers.cloud_api import ACCOUNT_SID, AUTH_TOKEN

HOOK = "https://relay.example.com/site-7/hooks/twilio/twilio"
NOW = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
SID = "SM" + "ab" * 16


def test_signature_matches_twilios_documented_example() -> None:
    """Pins the algorithm on the example of Twilio's security docs (URL + sorted
    params, HMAC-SHA1, base64): token 12345 gives 0/KCTR6DLpKmkAf8muzZqo1nDgQ=."""
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+12349013030",
        "Digits": "1234",
        "From": "+12349013030",
        "To": "+18005551212",
    }
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert signature(url, params, "12345") == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    assert valid(url, params, "12345", "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
    assert not valid(url, {**params, "Digits": "1235"}, "12345", "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
    assert not valid(url, params, "12345", None)


@dataclass
class Heard:
    texts: list[InboundText] = field(default_factory=list)
    reports: list[DeliveryReport] = field(default_factory=list)

    async def inbound(self, text: InboundText) -> None:
        self.texts.append(text)

    async def delivery(self, report: DeliveryReport) -> None:
        self.reports.append(report)


def _signed(form: dict[str, str], url: str = HOOK, token: str = AUTH_TOKEN) -> dict[str, str]:
    return {"x-twilio-signature": signature(url, form, token)}


@pytest.fixture
def heard() -> Heard:
    return Heard()


@pytest.fixture
def sender(heard: Heard, site: SiteContext, clock: FrozenClock) -> TwilioSender:
    context = SenderContext(
        SiteContext(site.name, site.tz, site.country, clock), heard.inbound, heard.delivery
    )
    return TwilioSender(twilio_config("http://127.0.0.1:9", webhook_url=HOOK), context)


async def test_status_callback_and_inbound_are_handed_over(
    sender: TwilioSender, heard: Heard
) -> None:
    """Pins a signed status callback (undelivered 30006) and a signed inbound message:
    200 each, one report with its fact, one text with its SID."""
    status = {"AccountSid": ACCOUNT_SID, "MessageSid": SID, "MessageStatus": "undelivered",
              "ErrorCode": "30006", "To": TO, "From": FROM, "SmsStatus": "undelivered"}  # fmt: skip
    inbound = {"AccountSid": ACCOUNT_SID, "MessageSid": "SM" + "cd" * 16, "From": TO,
               "To": FROM, "Body": "STOP", "NumMedia": "0", "SmsStatus": "received"}  # fmt: skip
    async with sender:
        assert await sender.webhook(status, _signed(status)) == 200
        assert await sender.webhook(inbound, _signed(inbound)) == 200
    assert [(r.provider_id, r.state, r.error_code) for r in heard.reports] == [
        (SID, Delivery.UNDELIVERED, "30006")
    ]
    assert heard.reports[0].fact is not None
    assert [(t.body, t.provider_id) for t in heard.texts] == [("STOP", "SM" + "cd" * 16)]


async def test_forged_and_replayed_posts_change_nothing(sender: TwilioSender, heard: Heard) -> None:
    """Pins 403 for a bad signature, a signature over another URL, another token,
    another account, and a replay of a post already taken (no second hand-over);
    each counted."""
    form = {"AccountSid": ACCOUNT_SID, "MessageSid": SID, "MessageStatus": "delivered"}
    other = {**form, "AccountSid": "AC" + "9" * 32}
    async with sender:
        assert await sender.webhook(form, {"x-twilio-signature": "bm90IGl0"}) == 403
        assert await sender.webhook(form, _signed(form, url=HOOK + "x")) == 403
        assert await sender.webhook(form, _signed(form, token="guess")) == 403
        assert await sender.webhook(other, _signed(other)) == 403
        assert await sender.webhook(form, {}) == 403
        assert await sender.webhook(form, _signed(form)) == 200
        assert await sender.webhook(form, _signed(form)) == 403
        health = sender.health()
    assert len(heard.reports) == 1
    assert health.counters["webhook_forged"] == 5
    assert health.counters["webhook_replayed"] == 1


async def test_webhooks_need_a_url_and_a_sid(
    heard: Heard, sender: TwilioSender, site: SiteContext, clock: FrozenClock
) -> None:
    """Pins 404 without `webhook_url` and 400 for a signed post with no SID."""
    plain = TwilioSender(
        twilio_config("http://127.0.0.1:9"), SenderContext(SiteContext(site.name, site.tz))
    )
    form = {"MessageStatus": "sent"}
    async with plain, sender:
        assert await plain.webhook(form, _signed(form)) == 404
        assert await sender.webhook(form, _signed(form)) == 400
        assert sender.health().counters["webhook_bad"] == 1
    assert heard.reports == []


async def test_state_polled_first_is_not_a_replay(sender: TwilioSender, heard: Heard) -> None:
    """Pins the two paths together: a status the poll already handed over, posted
    afterwards by Twilio, is taken (200) without a second hand-over; a reply posted
    twice is refused the second time."""
    form = {"AccountSid": ACCOUNT_SID, "MessageSid": SID, "MessageStatus": "sent"}
    reply = {"AccountSid": ACCOUNT_SID, "MessageSid": "SM" + "ef" * 16, "From": TO,
             "To": FROM, "Body": "ok", "SmsStatus": "received"}  # fmt: skip
    async with sender:
        await sender._poller.hand_report(DeliveryReport("twilio", SID, Delivery.SENT, NOW))
        assert await sender.webhook(form, _signed(form)) == 200
        assert await sender.webhook(reply, _signed(reply)) == 200
        assert await sender.webhook(reply, _signed(reply)) == 403
        health = sender.health()
    assert len(heard.reports) == 1 and len(heard.texts) == 1
    assert health.counters["webhook_replayed"] == 1
