"""The managers hear when the provider says our own texts do not get through: Twilio
30007 (carrier filtering) or 30034 (unregistered A2P 10DLC) recorded as a `filtered`
fact, 21408/21612 as `misconfigured`. One alert a day per sender and code, whatever
the number of texts that failed, with the fix, by webhook (signed) and text."""

from __future__ import annotations

import json
from pathlib import Path

from agent.model import NumberFact
from agent.report.watch import AlertWatcher
from agent.store import Store
from tests.conftest import FrozenClock
from tests.report.conftest import local
from tests.report.test_alert_signing import SECRET, Receiver, verifies
from tests.report.test_alerts import ALERTS, settings_with, store  # noqa: F401

FIX = "twilio 30034: unregistered A2P 10DLC traffic: register the brand and campaign"


async def test_filtered_texts_alert_the_managers_once_a_day(
    tmp_path: Path,
    store: Store,  # noqa: F811
) -> None:
    async with Receiver() as receiver:
        manager = {
            **ALERTS["managers"][0],
            "webhook_url": f"{receiver.url}/hook",
            "webhook_secret": SECRET,
        }
        settings = settings_with(tmp_path, {**ALERTS, "managers": [manager]})
        clock = FrozenClock(local("2026-11-23 10:00"))
        watcher = AlertWatcher(settings, store, clock)
        assert await watcher.sending_alerts_once() == 0  # nothing said yet
        for number in ("+15145550111", "+15145550122", "+15145550133"):
            await store.set_number_fact(
                number, NumberFact.FILTERED, origin="twilio", now=clock(), code="30034", detail=FIX
            )
        assert await watcher.sending_alerts_once() == 1  # three texts, one alert
        assert await watcher.sending_alerts_once() == 0  # not again today
        clock.now = local("2026-11-24 09:00")  # the next day, still filtered: again
        await store.set_number_fact(
            "+15145550144", NumberFact.FILTERED, origin="twilio", now=clock(), code="30034",
            detail=FIX,
        )  # fmt: skip
        assert await watcher.sending_alerts_once() == 1
    first, second = receiver.requests
    payload = json.loads(first.body)
    assert (payload["kind"], payload["fact"], payload["code"]) == ("sending", "filtered", "30034")
    assert "filtering our texts" in payload["text"] and FIX in payload["text"]
    assert "+1514" not in payload["text"]  # the alert is about us, not the callers
    assert verifies(first, SECRET) and verifies(second, SECRET)
    texts = await store.fetchall("SELECT to_e164, body FROM messages WHERE template = 'alert'")
    assert len(texts) == 2 and all(FIX in b for _, b in texts)  # the manager has a phone
    assert watcher.counters.get("sending_alerts") == 2
