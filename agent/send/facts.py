"""What a provider said about a number becomes a fact of that number, for every sender.

One entry point, `apply_fact`, for the three ways a fact arrives: a sender's
synchronous refusal (`Rejected.fact`), a delivery report (`DeliveryReport.fact`) and
the modem's status reports. What each fact does:

    opted_out      the number's opt-out (as a STOP reply would)
    sms_incapable  no more texts: waiting ones withdrawn, open cases callback-only
    unreachable    texts to it deferred for `UNREACHABLE_HOURS` (cleared on a delivery)
    filtered       our traffic is filtered (30007, 30034): kept, logged as an alert with
                   the fix the sender gave; the sender reports itself degraded; the
                   managers hear it (agent/report/watch.py `sending_alerts_once`)
    misconfigured  our sending setup is wrong (21408, 21612): kept, named by `doctor`

Never raises: a fact that cannot be stored is logged and counted, the caller goes on.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from agent.model import Counters, NumberFact
from agent.numbers import mask
from agent.store import Store

log = logging.getLogger(__name__)

UNREACHABLE_HOURS = 4.0


async def apply_fact(
    store: Store,
    counters: Counters,
    number_e164: str,
    fact: NumberFact,
    *,
    origin: str,
    now: datetime,
    code: str | None = None,
    detail: str = "",
) -> None:
    until = now + timedelta(hours=UNREACHABLE_HOURS) if fact is NumberFact.UNREACHABLE else None
    try:
        news = await store.set_number_fact(
            number_e164, fact, origin=origin, now=now, code=code, until=until, detail=detail
        )
    except Exception:
        counters.inc("number_fact_errors")
        log.exception("number fact %s for %s not stored", fact.value, mask(number_e164))
        return
    counters.inc(f"number_fact_{fact.value}")
    if not news:
        return
    where = f"to={mask(number_e164)} driver={origin} code={code or '-'}"
    if fact in (NumberFact.FILTERED, NumberFact.MISCONFIGURED):
        log.error("alert: %s %s: %s", fact.value, where, detail or "see the provider's console")
    elif fact is NumberFact.SMS_INCAPABLE:
        log.warning("number %s cannot take texts: its cases are callback-only", where)
    else:
        log.info("number %s: %s", where, fact.value)
