"""The Twilio poll over HTTP against the stateful fake Twilio: replies and delivery
states read from the Messages list, the high-water mark, and the bad input of the
issue (a page served twice, a 429, an item without a SID, a reply of pictures only)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from agent.model import Delivery, DeliveryReport, InboundText, NumberFact, OutgoingText, Sent
from drivers.base import SenderContext, SiteContext
from drivers.senders.twilio import TwilioSender
from tests.conftest import FrozenClock
from tests.drivers.cloud.conftest import FROM, TO, twilio_config
from tests.peers.cloud_api import FakeTwilio, Step
from tests.peers.twilio_book import rfc2822

CALLER = "+15145550177"


@dataclass
class Heard:
    """What the sender handed over, and the marks it kept (the store's part)."""

    texts: list[InboundText] = field(default_factory=list)
    reports: list[DeliveryReport] = field(default_factory=list)
    marks: dict[tuple[str, str], str] = field(default_factory=dict)

    async def inbound(self, text: InboundText) -> None:
        self.texts.append(text)

    async def delivery(self, report: DeliveryReport) -> None:
        self.reports.append(report)

    async def load(self, sender: str, key: str) -> str | None:
        return self.marks.get((sender, key))

    async def save(self, sender: str, key: str, value: str) -> None:
        self.marks[(sender, key)] = value

    def context(self, site: SiteContext) -> SenderContext:
        return SenderContext(site, self.inbound, self.delivery, self.load, self.save)


@pytest.fixture
async def stateful(clock: FrozenClock) -> AsyncIterator[FakeTwilio]:
    async with FakeTwilio(clock=clock) as peer:
        yield peer


@pytest.fixture
def heard() -> Heard:
    return Heard()


def _sender(peer: FakeTwilio, heard: Heard, site: SiteContext, clock: FrozenClock,
            **options: Any) -> TwilioSender:  # fmt: skip
    context = heard.context(SiteContext(site.name, site.tz, site.country, clock))
    return TwilioSender(twilio_config(peer.url, **options), context)


async def test_statuses_advance_and_reply_arrives(
    stateful: FakeTwilio, heard: Heard, site: SiteContext, clock: FrozenClock
) -> None:
    """Pins the poll: a sent text's states (sent, then delivered) and a caller's reply
    to our number come from the list, with the SID, our number and the media count."""
    async with _sender(stateful, heard, site, clock) as sender:
        sent = await sender.send(OutgoingText(1, TO, "Sorry we missed your call"))
        assert isinstance(sent, Sent)
        for _ in range(3):  # queued -> sending -> sent -> delivered
            clock.advance(10)
            await sender.poll_once()
        sid = stateful.inject_reply(TO, FROM, "yes call me at 3")
        clock.advance(10)
        await sender.poll_once()
        health = sender.health()
    states = [(r.provider_id, r.state) for r in heard.reports]
    assert states == [(sent.provider_id, Delivery.SENT), (sent.provider_id, Delivery.DELIVERED)]
    assert [(t.provider_id, t.from_e164, t.to_e164, t.body) for t in heard.texts] == [
        (sid, TO, FROM, "yes call me at 3")
    ]
    assert health.counters["status_reports"] == 2
    assert health.counters["inbound"] == 1
    assert all("DateSent>" in r.query for r in stateful.polls)


async def test_failure_code_says_what_the_number_is(
    stateful: FakeTwilio, heard: Heard, site: SiteContext, clock: FrozenClock
) -> None:
    """Pins 30006 after sending: an `undelivered` report carrying the code and the
    sms_incapable fact; 30007 also degrades the sender's health, with the fix."""
    stateful.book.fail_after[TO] = 30006
    stateful.book.fail_after[CALLER] = 30007
    async with _sender(stateful, heard, site, clock) as sender:
        await sender.send(OutgoingText(1, TO, "Sorry we missed your call"))
        await sender.send(OutgoingText(2, CALLER, "Sorry we missed your call"))
        for _ in range(3):
            clock.advance(10)
            await sender.poll_once()
        health = sender.health()
    final = {r.provider_id: r for r in heard.reports if r.state is Delivery.UNDELIVERED}
    facts = sorted((r.error_code, r.fact) for r in final.values())
    assert facts == [("30006", NumberFact.SMS_INCAPABLE), ("30007", NumberFact.FILTERED)]
    assert health.details["degraded"] is not None
    assert "A2P 10DLC" in health.summary or "10DLC" in health.summary
    assert health.state.value == "degraded"


async def test_restart_resumes_from_the_mark_and_the_overlap_catches_late_entries(
    stateful: FakeTwilio, heard: Heard, site: SiteContext, clock: FrozenClock
) -> None:
    """Pins the high-water mark: a second sender (a restart) reads from where the
    first stopped minus the overlap; a reply Twilio lists late (dated before the mark)
    is still read. Without the overlap it would be lost."""
    async with _sender(stateful, heard, site, clock) as sender:
        first = stateful.inject_reply(TO, FROM, "first")
        clock.advance(60)
        await sender.poll_once()
    mark = heard.marks[("twilio", "poll")]
    clock.advance(60)
    late = stateful.book.inbound(TO, FROM, "late")  # dated before the mark, listed only now
    stateful.book._sent_at[str(late["sid"])] -= timedelta(seconds=150)
    late["date_sent"] = rfc2822(clock.now - timedelta(seconds=150))
    async with _sender(stateful, heard, site, clock, poll_overlap_seconds=0) as no_overlap:
        await no_overlap.poll_once()
    assert str(late["sid"]) not in [t.provider_id for t in heard.texts]  # lost without it
    async with _sender(stateful, heard, site, clock) as restarted:
        await restarted.poll_once()
    assert heard.marks[("twilio", "poll")] == mark  # nothing newer than the first reply
    sids = [t.provider_id for t in heard.texts]
    assert sids.count(str(late["sid"])) == 1
    assert first in sids  # re-read through the overlap: the store recognises it


async def test_page_served_twice_hands_each_message_once(
    stateful: FakeTwilio, heard: Heard, site: SiteContext, clock: FrozenClock
) -> None:
    """Pins paging: 130 replies over two pages of 100, the first page served twice
    (Twilio's next link pointing back at it): 130 texts handed over, the repeats
    counted as duplicate items."""
    for n in range(130):
        stateful.inject_reply(f"+1514555{n:04d}", FROM, f"reply {n}")
        clock.advance(1)
    stateful.book.repeat_page = True
    async with _sender(stateful, heard, site, clock) as sender:
        await sender.poll_once()
        health = sender.health()
    assert len(heard.texts) == 130
    assert len({t.provider_id for t in heard.texts}) == 130
    assert health.counters["poll_duplicate_items"] == 100
    assert health.counters["poll_pages"] == 3


async def test_429_on_the_list_waits_and_keeps_the_mark(
    stateful: FakeTwilio, heard: Heard, site: SiteContext, clock: FrozenClock
) -> None:
    """Pins a 429 (Retry-After 7) and a 503 on the list: the next round waits at least
    the Retry-After, the mark stays, both are counted; the round after reads all."""
    stateful.inject_reply(TO, FROM, "hello")
    stateful.script_poll(Step.error(429, 20429, ("Retry-After", "7")), Step.reply(503, {}))
    async with _sender(stateful, heard, site, clock) as sender:
        assert await sender.poll_once() >= 7
        await sender.poll_once()
        assert heard.marks == {} and heard.texts == []
        await sender.poll_once()
        health = sender.health()
    assert len(heard.texts) == 1
    assert health.counters["poll_rate_limited"] == 1
    assert health.counters["poll_failed"] == 2


async def test_odd_items_are_counted_not_fatal(
    stateful: FakeTwilio, heard: Heard, site: SiteContext, clock: FrozenClock
) -> None:
    """Pins a reply of pictures only (empty body, media 2: handed over and counted), a
    message of ours nobody sent through the API (handed over: the store keeps it as
    unknown), a stale older status (handed over: the store does not move back) and an
    item with no SID (counted, skipped)."""
    stateful.inject_reply(TO, FROM, "", media=2)
    planted = stateful.book.plant(CALLER, FROM, status="delivered")
    stateful.book.messages.append({"sid": None, "direction": "inbound", "to": FROM})
    stateful.book._sent_at["None"] = clock.now  # listed, but it has no SID
    async with _sender(stateful, heard, site, clock) as sender:
        await sender.poll_once()
        stateful.book.stale[str(planted["sid"])] = "sent"
        clock.advance(5)
        await sender.poll_once()
        health = sender.health()
    assert [(t.body, t.media) for t in heard.texts] == [("", 2)]
    assert [r.state for r in heard.reports] == [Delivery.DELIVERED, Delivery.SENT]
    assert health.counters["inbound_media_only"] == 1
    assert health.counters["poll_bad_item"] == 2


async def test_poll_loop_runs_by_itself(
    stateful: FakeTwilio, heard: Heard, site: SiteContext, clock: FrozenClock
) -> None:
    """Pins the loop the sender starts when `poll_interval_seconds` > 0 and stops at
    close: the reply arrives without a hand-made round."""
    import asyncio

    stateful.inject_reply(TO, FROM, "hi")
    async with _sender(stateful, heard, site, clock, poll_interval_seconds=0.05):
        for _ in range(200):
            if heard.texts:
                break
            await asyncio.sleep(0.02)
    polls = len(stateful.polls)
    await asyncio.sleep(0.2)
    assert [t.body for t in heard.texts] == ["hi"]
    assert len(stateful.polls) == polls  # stopped with the sender


async def test_first_round_waits_for_the_daemons_start(
    stateful: FakeTwilio, heard: Heard, site: SiteContext, clock: FrozenClock
) -> None:
    """The loop's first round waits for `SenderContext.started` (the daemon's status
    API listening), so the start is not held up by the poll; then it runs."""
    import asyncio

    started = asyncio.Event()

    async def wait_started() -> None:
        await started.wait()

    stateful.inject_reply(TO, FROM, "hi")
    context = heard.context(SiteContext(site.name, site.tz, site.country, clock))
    context = SenderContext(
        context.site, context.on_inbound, context.on_delivery, context.load_mark,
        context.save_mark, started=wait_started,
    )  # fmt: skip
    config = twilio_config(stateful.url, poll_interval_seconds=0.05)
    async with TwilioSender(config, context):
        await asyncio.sleep(0.3)
        assert not stateful.polls and not heard.texts
        started.set()
        for _ in range(200):
            if heard.texts:
                break
            await asyncio.sleep(0.02)
    assert [t.body for t in heard.texts] == ["hi"]
