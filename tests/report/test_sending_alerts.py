"""The managers hear when the provider says our own texts do not get through: Twilio
30007 (carrier filtering) or 30034 (unregistered A2P 10DLC) recorded as a `filtered`
fact, 21408/21612 as `misconfigured`. One alert a day per sender and code, whatever
the number of texts that failed, with the fix, by webhook (signed) and text."""

from __future__ import annotations

import json
import re
from pathlib import Path

from agent.model import NumberFact
from agent.report.alert_words import FIXES_FR, sending_text
from agent.report.watch import AlertWatcher
from agent.store import Store
from drivers.senders.twilio_codes import FIX_21612
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
    assert payload["text"] == (  # the site's staff language: French for a Quebec site
        "Garage Laval : l'opérateur filtre nos textos (expéditeur twilio, code 30034). "
        + FIXES_FR["30034"]
    )
    assert "+1514" not in payload["text"]  # the alert is about us, not the callers
    assert verifies(first, SECRET) and verifies(second, SECRET)
    texts = await store.fetchall("SELECT to_e164, body FROM messages WHERE template = 'alert'")
    assert len(texts) == 2 and all(FIXES_FR["30034"] in b for _, b in texts)  # by text too
    assert watcher.counters.get("sending_alerts") == 2


async def test_an_english_site_hears_the_providers_fix_in_english(
    tmp_path: Path,
    store: Store,  # noqa: F811
) -> None:
    """With `departments.language: en` the alert is in English, with the fix as the
    provider's code table gives it."""
    settings = settings_with(tmp_path, ALERTS)
    settings = settings.model_copy(
        update={"departments": settings.departments.model_copy(update={"language": "en"})}
    )
    clock = FrozenClock(local("2026-11-23 10:00"))
    await store.set_number_fact(
        "+15145550111", NumberFact.MISCONFIGURED, origin="twilio", now=clock(), code="21612",
        detail=FIX_21612,
    )  # fmt: skip
    assert await AlertWatcher(settings, store, clock).sending_alerts_once() == 1
    (body,) = await store.fetchall("SELECT body FROM messages WHERE template = 'alert'")
    assert body == (
        f"Garage Laval: our texting setup is refused (sender twilio, code 21612). {FIX_21612}",
    )


def test_every_fix_of_the_twilio_table_has_its_french() -> None:
    """Each code whose fact is a fault of our own sending has its fix in French, in
    Quebec usage (« texto », never « SMS » or « text »); a code of no table falls back
    to the provider's own words, said to be theirs."""
    from drivers.senders.twilio_codes import FACTS

    ours = {str(c) for c, (fact, _) in FACTS.items() if fact in _FAULTS}
    assert set(FIXES_FR) == ours
    for fix in FIXES_FR.values():
        assert not re.search(r"\b(SMS|texts?|messages? texte)\b", fix, re.IGNORECASE)
        assert " :" in fix and " ;" not in fix and " ?" not in fix
    other = sending_text("Garage Laval", NumberFact.FILTERED, "hook", "", "blocked", "fr")
    assert other == (
        "Garage Laval : l'opérateur filtre nos textos (expéditeur hook, code inconnu). "
        "Le fournisseur indique : blocked"
    )


_FAULTS = (NumberFact.FILTERED, NumberFact.MISCONFIGURED)
