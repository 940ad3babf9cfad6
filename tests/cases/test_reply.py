"""The staff's answer in a case's conversation (`agent.cases.reply`), on a real store
with the pipeline, the case keeper and the dispatcher on one frozen clock: one thread
per case in order, answered through the sender that reached the caller first (the
chain when that sender left the configuration), and every policy check before
anything is queued."""

from __future__ import annotations

from typing import Any

import pytest

from agent.cases.keeper import CaseKeeper
from agent.cases.reply import STAFF_TEXTS_PER_DAY, ReplyRefused, reply
from agent.config.settings import Settings
from agent.decide.pipeline import Pipeline
from agent.model import InboundText, RetryLater, Sent
from agent.send.chain import SenderChain
from agent.send.dispatcher import Dispatcher
from agent.store import Store
from tests.agent.conftest import SettingsFactory, call, clock_at, local
from tests.agent.test_dispatcher import ScriptedPeer
from tests.cases.conftest import SLA

NUMBER = "+15145550123"
TWO_SENDERS = {
    "senders": [
        {"type": "log", "name": "modem", "print": False},
        {"type": "log", "name": "cloud", "print": False},
    ]
}


class Site:
    """Pipeline, case keeper and dispatcher on one store and one clock, sending
    through scripted peers named like the configured senders."""

    def __init__(self, settings: Settings, store: Store, when: str, *peers: ScriptedPeer) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock_at(when)
        self.pipeline = Pipeline(settings, store, self.clock)
        self.pipeline.cases = CaseKeeper(settings, store, self.pipeline.holiday_dates)
        self.peers = {p.name: p for p in peers}
        chain = SenderChain(list(peers), clock=self.seconds)
        self.dispatcher = Dispatcher(settings, store, chain, self.clock)

    def seconds(self) -> float:
        return self.clock.now.timestamp()

    async def answer(self, text: str, by: str = "Julie", case_id: int = 1) -> Any:
        return await reply(self.store, self.settings, case_id, text, by, self.clock())


@pytest.fixture
def two_senders(make_settings: SettingsFactory) -> Settings:
    return make_settings(**SLA, sms=TWO_SENDERS)


async def test_the_answer_goes_through_the_sender_that_texted_the_caller_first(
    two_senders: Settings, store: Store
) -> None:
    """The modem cannot send when the missed-call text leaves, so the cloud sends it;
    the staff's answer is then pinned to the cloud and leaves through it alone, though
    the modem comes first in the chain and works again."""
    modem = ScriptedPeer("modem", RetryLater(5, "no signal"), Sent("m-1"))
    cloud = ScriptedPeer("cloud", Sent("SM1"))
    site = Site(two_senders, store, "2026-11-23 10:00", modem, cloud)
    await site.pipeline.accept(call("2026-11-23 10:00"))
    site.clock.advance(91)
    assert await site.dispatcher.run_once() == 1
    assert [len(modem.texts), len(cloud.texts)] == [1, 1]
    queued = await site.answer("Bonjour, on vous rappelle à 14 h.")
    assert (queued.via, queued.deferred, queued.segments) == ("cloud", False, 1)
    assert await site.dispatcher.run_once() == 1
    assert [len(modem.texts), len(cloud.texts)] == [1, 2]
    assert cloud.texts[-1].body == "Bonjour, on vous rappelle à 14 h."
    thread = await store.case_thread(1)
    assert [(t["side"], t["by"], t["state"], t["sender"]) for t in thread] == [
        ("ours", "ringback", "sent", "cloud"),
        ("ours", "Julie", "sent", "cloud"),
    ]
    assert all(t["delivery"] is None for t in thread)


async def test_a_caller_who_texted_the_modem_first_is_answered_from_the_modem(
    two_senders: Settings, store: Store
) -> None:
    """No missed-call text left yet (grace delay); the caller writes to the modem's
    number: the answer is pinned to the modem; the thread shows both, in order."""
    modem = ScriptedPeer("modem", Sent("m-1"))
    cloud = ScriptedPeer("cloud", Sent("SM1"))
    site = Site(two_senders, store, "2026-11-23 10:00", modem, cloud)
    await site.pipeline.accept(call("2026-11-23 10:00"))
    await site.pipeline.inbound(
        InboundText(NUMBER, "Rappelez-moi svp", local("2026-11-23 10:00:30"), "modem")
    )
    site.clock.advance(60)
    queued = await site.answer("Oui, dans 10 minutes.")
    assert queued.via == "modem"
    thread = await store.case_thread(1)
    assert [(t["side"], t["by"], t["body"], t["state"]) for t in thread] == [
        ("ours", "ringback", None, "pending"),  # written when it leaves
        ("theirs", "caller", "Rappelez-moi svp", None),
        ("ours", "Julie", "Oui, dans 10 minutes.", "pending"),
    ]


async def test_a_sender_gone_from_the_configuration_leaves_the_answer_to_the_chain(
    make_settings: SettingsFactory, store: Store
) -> None:
    """The thread's sender was `old-modem`, no longer configured: the answer is not
    pinned (`via` None) and the dispatcher sends it through the chain; a row still
    pinned to a sender that left (queued before a reload) goes through the chain too."""
    settings = make_settings(**SLA)
    peer = ScriptedPeer("dry-run", Sent("d-1"))
    site = Site(settings, store, "2026-11-23 10:00", peer)
    await site.pipeline.accept(call("2026-11-23 10:00"))
    await site.pipeline.inbound(
        InboundText(NUMBER, "Allo", local("2026-11-23 10:00:30"), "old-modem")
    )
    site.clock.advance(10)
    queued = await site.answer("Bonjour")
    assert queued.via is None
    pinned = "UPDATE messages SET via = 'old-modem' WHERE id = ?"
    await store.write_one(pinned, (queued.message_id,))
    assert await site.dispatcher.run_once() == 1
    assert [t.body for t in peer.texts] == ["Bonjour"]
    assert await store.scalar("SELECT sender FROM messages WHERE id = ?", (queued.message_id,)) == (
        "dry-run"
    )


async def test_an_opted_out_caller_is_refused_with_the_reason_and_nothing_is_queued(
    make_settings: SettingsFactory, store: Store
) -> None:
    settings = make_settings(**SLA)
    site = Site(settings, store, "2026-11-23 10:00", ScriptedPeer("dry-run", Sent("d")))
    await site.pipeline.accept(call("2026-11-23 10:00"))
    await site.pipeline.inbound(InboundText(NUMBER, "STOP", local("2026-11-23 10:01"), "dry-run"))
    before = await store.scalar("SELECT COUNT(*) FROM messages")
    with pytest.raises(ReplyRefused) as refused:
        await site.answer("Bonjour")
    assert (refused.value.reason, refused.value.status) == ("opted_out", 409)
    assert "STOP" in refused.value.detail and "no more texts" in refused.value.detail
    assert await store.scalar("SELECT COUNT(*) FROM messages") == before


@pytest.mark.parametrize(
    ("text", "reason", "status"),
    [
        ("   \n ", "text_empty", 422),
        ("x" * 700, "text_too_long", 422),
        ("é" * 20 + "ç" * 300, "text_too_long", 422),
    ],
)
async def test_empty_and_overlong_texts_are_refused_naming_the_limit_in_segments(
    settings: Settings, store: Store, text: str, reason: str, status: int
) -> None:
    site = Site(settings, store, "2026-11-23 10:00", ScriptedPeer("dry-run", Sent("d")))
    await site.pipeline.accept(call("2026-11-23 10:00"))
    with pytest.raises(ReplyRefused) as refused:
        await site.answer(text)
    assert (refused.value.reason, refused.value.status) == (reason, status)
    if reason == "text_too_long":
        assert "SMS segments (at most 4)" in refused.value.detail


async def test_a_closed_case_takes_no_answer(settings: Settings, store: Store) -> None:
    from agent.model import Resolution

    site = Site(settings, store, "2026-11-23 10:00", ScriptedPeer("dry-run", Sent("d")))
    await site.pipeline.accept(call("2026-11-23 10:00"))
    await store.close_case(1, Resolution.SPAM, "", "Julie", site.clock())
    with pytest.raises(ReplyRefused) as refused:
        await site.answer("Bonjour")
    assert (refused.value.reason, refused.value.status) == ("closed", 409)
    with pytest.raises(ReplyRefused) as unknown:
        await site.answer("Bonjour", case_id=99)
    assert (unknown.value.reason, unknown.value.status) == ("not_found", 404)


async def test_inside_quiet_hours_the_answer_waits_for_their_end_and_says_so(
    settings: Settings, store: Store
) -> None:
    """At 21:30 (quiet 21:00-08:00) the answer is queued due at 08:00 the next
    morning; the dispatcher does not send it before (nor the missed-call text)."""
    peer = ScriptedPeer("dry-run", Sent("d"))
    site = Site(settings, store, "2026-11-23 21:20", peer)
    await site.pipeline.accept(call("2026-11-23 21:20"))
    site.clock.now = local("2026-11-23 21:30")
    queued = await site.answer("Nous vous rappelons demain.")
    assert queued.deferred and queued.not_before == local("2026-11-24 08:00")
    await site.dispatcher.run_once()
    assert [t.body for t in peer.texts] == []
    site.clock.now = local("2026-11-24 08:00")
    await site.dispatcher.run_once()
    assert peer.texts[-1].body == "Nous vous rappelons demain."


async def test_the_per_number_cap_holds(settings: Settings, store: Store) -> None:
    site = Site(settings, store, "2026-11-23 10:00", ScriptedPeer("dry-run", Sent("d")))
    await site.pipeline.accept(call("2026-11-23 10:00"))
    for n in range(STAFF_TEXTS_PER_DAY):
        await site.answer(f"texte {n}")
    with pytest.raises(ReplyRefused) as refused:
        await site.answer("un de trop")
    assert refused.value.reason == "number_cap"


async def test_a_blocklisted_number_is_refused(settings: Settings, store: Store) -> None:
    site = Site(settings, store, "2026-11-23 10:00", ScriptedPeer("dry-run", Sent("d")))
    await site.pipeline.accept(call("2026-11-23 10:00", caller="5145550666"))
    with pytest.raises(ReplyRefused) as refused:
        await site.answer("Bonjour")
    assert refused.value.reason == "blocklisted"


async def test_the_log_names_the_answer_never_the_number_nor_the_words(
    settings: Settings, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="agent")
    site = Site(settings, store, "2026-11-23 10:00", ScriptedPeer("dry-run", Sent("d")))
    await site.pipeline.accept(call("2026-11-23 10:00"))
    caplog.clear()
    await site.answer("Votre auto est prête")
    assert "case_id=1 answer queued message_id=" in caplog.text
    assert "5550123" not in caplog.text and "prête" not in caplog.text
