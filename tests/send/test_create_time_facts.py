"""A Twilio refusal at create time that says our traffic is filtered (30007 carrier
filtering, 30034 unregistered A2P 10DLC; a `RetryLater`, the text is kept) stores the
same `filtered` fact a delivery report with that code stores: same fact, sender,
code and fix, so the managers' sending alert fires from the first refused text, not
only once a later delivery report comes back; likewise 30003/30005 (handset
unreachable, unknown) store the same `unreachable` fact their delivery reports do."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from agent.config.settings import Settings
from agent.model import Counters
from agent.report.watch import AlertWatcher
from agent.send.deliveries import Deliveries
from agent.store import Store, parse_ts
from drivers.base import SenderContext, SiteContext
from drivers.senders.twilio import TwilioSender
from drivers.senders.twilio_codes import FIX_30007, FIX_30034
from tests.agent.conftest import TZ, call, clock_at
from tests.agent.test_dispatcher import Rig
from tests.conftest import FrozenClock
from tests.drivers.cloud.conftest import twilio_config
from tests.peers.cloud_api import FakeTwilio
from tests.report.test_alerts import ALERTS, settings_with

REFUSED, UNDELIVERED = "+15145550123", "+15145550124"
FACT_ROW = "SELECT fact, origin, code, detail FROM number_facts WHERE number_e164 = ?"


@asynccontextmanager
async def refused_and_reported(
    tmp_path: Path, settings: Settings, code: int
) -> AsyncIterator[tuple[Store, FrozenClock]]:
    """The store and the rig's clock after two texts through Twilio both failing
    with `code`: REFUSED's in Twilio's 400 to the create, UNDELIVERED's in a later
    delivery report (read by five polls)."""
    async with Store(tmp_path / "r.db") as store, FakeTwilio() as twilio:
        twilio.errors[REFUSED] = code  # 400 at create time
        twilio.book.fail_after[UNDELIVERED] = code  # accepted, then undelivered
        rig_clock = clock_at("2026-11-23 10:00")  # the rig's own clock reads the same
        keeper = Deliveries(store, Counters(), rig_clock)
        site = SiteContext("Garage Laval", TZ, "CA", clock=rig_clock)
        sender = TwilioSender(
            twilio_config(twilio.url), SenderContext(site, on_delivery=keeper.on_delivery)
        )
        async with sender:
            rig = Rig(settings, store, sender, "2026-11-23 10:00")
            await rig.pipeline.accept(call("2026-11-23 09:58", caller="5145550123"))
            await rig.pipeline.accept(call("2026-11-23 09:58", caller="5145550124"))
            assert await rig.dispatcher.run_once() == 2
            for _ in range(5):
                await sender.poll_once()
        yield store, rig_clock


@pytest.mark.parametrize(("code", "fix"), [(30034, FIX_30034), (30007, FIX_30007)])
async def test_create_time_filtering_stores_the_delivery_reports_fact(
    tmp_path: Path, code: int, fix: str
) -> None:
    settings = settings_with(tmp_path, ALERTS)
    async with refused_and_reported(tmp_path, settings, code) as (store, rig_clock):
        refused = await store.fetchone(FACT_ROW, (REFUSED,))
        reported = await store.fetchone(FACT_ROW, (UNDELIVERED,))
        assert reported == ("filtered", "twilio", str(code), fix)
        assert refused == reported
        assert (
            await store.scalar("SELECT state FROM messages WHERE to_e164 = ?", (REFUSED,))
            == "retry_wait"
        )  # the text itself is kept for a later try
        watcher = AlertWatcher(settings, store, rig_clock)
        assert await watcher.sending_alerts_once() == 1
        ((_, origin, named, detail, numbers),) = await store.sending_faults(rig_clock.now)
        assert (origin, named, detail, numbers) == ("twilio", str(code), fix, 2)


@pytest.mark.parametrize(
    ("code", "detail"),
    [
        (30003, "twilio 30003: handset unreachable (off, no coverage)"),
        (30005, "twilio 30005: unknown or inactive handset"),
    ],
)
async def test_create_time_unreachable_stores_the_delivery_reports_fact(
    tmp_path: Path, code: int, detail: str
) -> None:
    """30003/30005 in Twilio's 400 to the create store the `unreachable` fact (same
    sender, code, detail and 4-hour end) a delivery report with that code stores; the
    text waits for a later try, which the dispatcher holds until the fact ends."""
    settings = settings_with(tmp_path, ALERTS)
    async with refused_and_reported(tmp_path, settings, code) as (store, _):
        row = "SELECT fact, origin, code, detail, until FROM number_facts WHERE number_e164 = ?"
        refused = await store.fetchone(row, (REFUSED,))
        reported = await store.fetchone(row, (UNDELIVERED,))
        assert reported is not None and reported[:4] == (
            "unreachable",
            "twilio",
            str(code),
            detail,
        )
        assert refused == reported
        assert refused[4].startswith("2026-11-23T19:00")  # 10:00 EST + 4 h, in UTC
        assert (
            await store.scalar("SELECT state FROM messages WHERE to_e164 = ?", (REFUSED,))
            == "retry_wait"
        )
        # what the dispatcher re-checks before the retry leaves: it waits 4 hours
        assert await store.texting_facts(REFUSED) == (False, parse_ts(refused[4]))
