"""The carrier's reports on texts we sent, from every sender, applied to the store.

`Deliveries.on_delivery` is what `SenderContext.on_delivery` calls (the Twilio poll and
webhook, the modem's status reports). The store moves a message's state only forward
(`agent.store.deliveries`); a report that moved it and says something about the
number (`fact`) becomes that number's fact (`agent.send.facts`); a delivery clears an
`unreachable` fact. Counted: `deliveries_moved`, `deliveries_stale` (came after a
later state), `deliveries_replayed` (seen before), `deliveries_unknown` (a SID we
never sent). Never raises.

`adopt` is the other door: the dispatcher, recording the provider id of a text it
just sent, applies the reports that came for that id before (kept as unknown), in
the same transaction, with the same effects; counted `deliveries_adopted`.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from datetime import datetime

from agent.model import Counters, Delivery, DeliveryReport, NumberFact
from agent.send.facts import apply_fact
from agent.store import Store, writable
from agent.store.deliveries import Applied, DeliveryResult

log = logging.getLogger(__name__)

COUNTER_NAMES = tuple(f"deliveries_{a.value}" for a in Applied)


class Deliveries:
    def __init__(self, store: Store, counters: Counters, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.counters = counters
        self.clock = clock

    async def on_delivery(self, report: DeliveryReport) -> None:
        try:
            await self._apply(report)
        except Exception:
            self.counters.inc("delivery_errors")
            log.exception("driver=%s delivery report not stored", report.sender)

    async def _apply(self, report: DeliveryReport) -> None:
        now = self.clock()
        result = await self.store.apply_delivery(report, now)
        self.counters.inc(f"deliveries_{result.applied.value}")
        if result.applied is Applied.UNKNOWN:
            log.info(
                "driver=%s delivery report for a message we did not send (%s): kept, not applied",
                report.sender,
                report.state.value,
            )
            return
        await self._moved(report, result, now)

    async def adopt(self, message_id: int, sender: str, provider_id: str) -> None:
        """Inside the dispatcher's transaction that records `provider_id` on message
        `message_id`: the reports that were waiting for it, applied."""
        now = self.clock()
        try:
            adopted = await self.store.adopt_deliveries(message_id, sender, provider_id, now)
            for report, result in adopted:
                self.counters.inc("deliveries_adopted")
                await self._moved(report, result, now)
        except sqlite3.OperationalError as err:
            if writable.classify(err) is not None:
                raise  # the store is full or read-only: the dispatcher retries it all
            self.counters.inc("delivery_errors")
            log.exception("driver=%s early delivery reports not applied", sender)
        except Exception:
            self.counters.inc("delivery_errors")
            log.exception("driver=%s early delivery reports not applied", sender)

    async def _moved(self, report: DeliveryReport, result: DeliveryResult, now: datetime) -> None:
        if result.applied is not Applied.MOVED or result.to_e164 is None:
            return
        log.info(
            "message_id=%s delivery %s driver=%s%s",
            result.message_id,
            report.state.value,
            report.sender,
            f" code={report.error_code}" if report.error_code else "",
        )
        if report.state is Delivery.DELIVERED:
            await self.store.clear_number_fact(result.to_e164, NumberFact.UNREACHABLE)
        if report.fact is not None:
            await apply_fact(
                self.store,
                self.counters,
                result.to_e164,
                report.fact,
                origin=report.sender,
                now=now,
                code=report.error_code,
                detail=report.detail,
            )
