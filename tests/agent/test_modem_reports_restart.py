"""Modem status reports that come after a restart: the real store and dispatcher, the
GSM sender on the simulated modem (pty), a new sender instance for the late report.

The TP-MR -> text matching of a running sender is in memory; after a restart the
sender finds the text through `SenderContext.sent_texts` (the store's `sent_texts`):
the newest text to that recipient of the last 48 hours whose provider id holds the
TP-MR."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from agent.config.settings import Settings
from agent.model import Counters, MessageState
from agent.send.deliveries import Deliveries
from agent.store import Store
from drivers.base import SenderContext, SiteContext
from drivers.senders.gsm.sender import GsmSender
from tests.agent.conftest import TZ, call, local
from tests.agent.test_dispatcher import Rig
from tests.conftest import FrozenClock
from tests.drivers.gsm.conftest import make_config, wait_for
from tests.peers.modem import Behaviour, FakeModem

TO = "+15145550123"


def context(store: Store, clock: Callable[[], datetime]) -> SenderContext:
    """What the daemon gives a sender: reports to the real store, the store's texts."""
    keeper = Deliveries(store, Counters(), clock)
    site = SiteContext("Garage Laval", TZ, "CA", clock=clock)
    return SenderContext(site, on_delivery=keeper.on_delivery, sent_texts=store.sent_texts)


async def until_stored(store: Store, sql: str, expected: object, seconds: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while await store.scalar(sql) != expected:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{sql!r} never became {expected!r}")
        await asyncio.sleep(0.02)


async def test_report_after_a_restart_reaches_the_text(
    settings: Settings, store: Store, tmp_path: Path
) -> None:
    """A text goes out through the modem (held back: the carrier answers late); the
    sender is closed and a new one opened, as after a restart; two hours later the
    modem emits the report: the new sender finds the text in the store and the text
    becomes `delivered`."""
    with FakeModem(tmp_path, Behaviour(hold_reports=True)) as modem:
        clock = FrozenClock(local("2026-11-23 10:05"))
        first = GsmSender(make_config(modem.path), context(store, clock))
        rig = Rig(settings, store, first, "2026-11-23 10:05")
        rig.clock = rig.pipeline.clock = rig.dispatcher.clock = clock
        async with first:
            await wait_for(lambda: first.health().state.value == "ok")
            await rig.pipeline.accept(call("2026-11-23 10:00"))
            assert await rig.dispatcher.run_once() == 1
        assert await store.fetchone("SELECT state, provider_id, delivery FROM messages") == (
            "sent",
            "gsm:12",
            None,
        )
        clock.advance(2 * 3600)
        second = GsmSender(make_config(modem.path), context(store, clock))
        async with second:
            await wait_for(lambda: second.health().state.value == "ok")
            modem.release_reports()
            await until_stored(store, "SELECT delivery FROM messages", "delivered")
            counters = second.health().counters
        assert counters["delivery_report_recalled"] == 1
        assert counters["delivery_report_unmatched"] == 0


async def _sent_at(store: Store, clock: FrozenClock, key: str, provider_id: str) -> int:
    message_id = await store.enqueue(
        call_id=None, to_e164=TO, department="service", template="open", language="fr",
        dedup_key=key, not_before=clock.now, expires_at=clock.now + timedelta(hours=4),
        now=clock.now,
    )  # fmt: skip
    assert message_id is not None
    await store.finish(
        message_id, state=MessageState.SENT, sender="modem", started_at=clock.now,
        now=clock.now, result="sent", provider_id=provider_id,
    )  # fmt: skip
    return message_id


async def test_a_reused_reference_goes_to_the_newest_recent_text(
    store: Store, tmp_path: Path
) -> None:
    """TP-MR 77 was used three days ago and again yesterday (it wraps at 256), and a
    text to another number used it too: the report after the restart goes to
    yesterday's text to its recipient; a reference only an old text used (>48 h)
    stays unmatched, counted, and changes nothing."""
    clock = FrozenClock(local("2026-11-20 10:00"))
    old = await _sent_at(store, clock, "a", "gsm:77,78")
    only_old = await _sent_at(store, clock, "b", "gsm:90")
    clock.advance(2 * 86400)
    newest = await _sent_at(store, clock, "c", "gsm:76,77")
    other = await store.enqueue(
        call_id=None, to_e164="+15145550999", department="service", template="open",
        language="fr", dedup_key="d", not_before=clock.now,
        expires_at=clock.now + timedelta(hours=4), now=clock.now,
    )  # fmt: skip
    assert other is not None
    await store.finish(
        other, state=MessageState.SENT, sender="modem", started_at=clock.now, now=clock.now,
        result="sent", provider_id="gsm:77",
    )  # fmt: skip
    clock.advance(86400)
    with FakeModem(tmp_path) as modem:
        sender = GsmSender(make_config(modem.path), context(store, clock))
        async with sender:
            await wait_for(lambda: sender.health().state.value == "ok")
            modem.status_report(90, 0x00, TO)
            await wait_for(lambda: sender.health().counters["delivery_report_unmatched"] == 1)
            modem.status_report(77, 0x41, "5145550123")  # written nationally
            await wait_for(lambda: sender.health().counters["delivery_report_recalled"] == 1)
            modem.status_report(76, 0x41, TO)
            await until_stored(
                store, f"SELECT delivery FROM messages WHERE id = {newest}", "failed"
            )
            # the number's fact is written after the state: wait for it before closing
            await until_stored(store, "SELECT COUNT(*) FROM number_facts", 1)
    rows = await store.fetchall("SELECT id, delivery FROM messages ORDER BY id")
    assert dict((int(r[0]), r[1]) for r in rows) == {
        old: None,
        only_old: None,
        newest: "failed",
        other: None,
    }
    assert (await store.texting_facts(TO))[0] is True  # 0x41: cannot take texts
