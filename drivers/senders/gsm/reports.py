"""Delivery reports of the modem: decoded, matched to the text, handed to the daemon.

    +CDS (routed) / +CDSI read back / a report found on the SIM
        -> decode_status_report -> Tracker.report -> context.on_delivery(DeliveryReport)

The sender tells `track()` which TP-MRs each text used, under the modem's work lock,
before it lets the next unit of work run; reports are matched under the same lock, so
a report is never read before its text is known. A report whose TP-MR names no text
in memory (it was sent before a restart: carriers report minutes to hours later) is
looked up in the store (`context.sent_texts`: the texts this modem sent to that
recipient in the last `RECALL_HOURS`, newest first, whose provider id holds the
TP-MR; the reference wraps at 256, so only recent ones), counted
`delivery_report_recalled` when found. A report that does not decode is
counted (`delivery_report_garbled`) and logged without its content; one that matches
no text we know (too old, or a reference reused) is counted
(`delivery_report_unmatched`), as are duplicates and reports naming another number.
None of them raises. Reports are best effort (reference §8): they improve a text's
state and never hold the queue.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from agent.model import Counters, Delivery, DeliveryReport
from agent.numbers import mask_text
from drivers.base import SenderContext
from drivers.senders.gsm.pdu_decode import PduError, StatusReport, decode_status_report
from drivers.senders.gsm.report_codes import error_code
from drivers.senders.gsm.report_match import (
    MIN_MATCHING_DIGITS,
    Due,
    Tracker,
    Verdict,
    references_of,
)

log = logging.getLogger(__name__)

COUNTERS = (
    "delivery_report",
    "delivery_report_garbled",
    "delivery_report_unmatched",
    "delivery_report_duplicate",
    "delivery_report_wrong_recipient",
    "delivery_report_recalled",
    "delivery_lookup_error",
    "delivery_handler_error",
)
RECALL_HOURS = 48.0


class Reports:
    def __init__(self, context: SenderContext, counters: Counters, name: str) -> None:
        self._context = context
        self._counters = counters
        self._name = name
        self._tracker = Tracker()
        self._later: list[Due] = []

    def track(
        self, message_id: int, recipient: str, references: list[int | None], provider_id: str
    ) -> bool:
        """Called by the sender under its work lock after each send of a text's parts;
        `provider_id` is "" while some parts are still to go. True when reports that
        came earlier are now due: `flush()` hands them over (after `send()` returned,
        so the daemon knows the provider id first)."""
        due = self._tracker.track(message_id, recipient, references, provider_id)
        if due is not None:
            self._later.append(due)
        return due is not None

    async def flush(self) -> None:
        while self._later:
            await self.hand_over(self._later.pop(0))

    async def take(self, pdu: str, lock: asyncio.Lock, quiet: bool = False) -> bool:
        """Decode, match and hand over one report PDU. False when it is not a status
        report (counted and logged as garbled unless `quiet`)."""
        try:
            report = decode_status_report(pdu)
        except PduError as err:
            if not quiet:
                self._counters.inc("delivery_report_garbled")
                log.warning("gsm: delivery report does not decode (%s, %d hex digits): dropped",
                            mask_text(str(err)), len(pdu))  # fmt: skip
            return False
        self._counters.inc("delivery_report")
        async with lock:
            verdict, due = self._tracker.report(report)
        if verdict == "unmatched":
            verdict, due = await self._recall(report, lock)
        log.info("gsm: delivery report reference=%d status=%02X: %s",
                 report.reference, report.status, verdict)  # fmt: skip
        if verdict in ("unmatched", "duplicate", "wrong_recipient"):
            self._counters.inc(f"delivery_report_{verdict}")
        if due is not None:
            await self.hand_over(due)
        return True

    async def _recall(self, report: StatusReport, lock: asyncio.Lock) -> tuple[Verdict, Due | None]:
        """The text sent before a restart that a report names, from the store: the
        newest recent text to that recipient whose provider id holds its TP-MR."""
        tail = "".join(c for c in report.recipient if c.isdigit())[-MIN_MATCHING_DIGITS:]
        if len(tail) < MIN_MATCHING_DIGITS:
            return "unmatched", None
        since = self._context.site.clock() - timedelta(hours=RECALL_HOURS)
        try:
            sent = await self._context.sent_texts(self._name, tail, since)
        except Exception:  # the store is down: the report stays unmatched, counted
            self._counters.inc("delivery_lookup_error")
            log.exception("gsm: looking up the text of a late delivery report failed")
            return "unmatched", None
        for message_id, number, provider_id in sent:
            references = references_of(provider_id)
            if report.reference not in references:
                continue
            async with lock:
                self._tracker.track(message_id, number, references, provider_id)
                verdict, due = self._tracker.report(report)
            if verdict != "unmatched":
                self._counters.inc("delivery_report_recalled")
            return verdict, due
        return "unmatched", None

    async def hand_over(self, due: Due) -> None:
        meaning = due.meaning
        delivered = meaning.state is Delivery.DELIVERED and due.status == 0
        update = DeliveryReport(
            sender=self._name,
            provider_id=due.provider_id,
            state=meaning.state,
            at=due.at or self._context.site.clock(),
            error_code=None if delivered else error_code(due.status),
            fact=meaning.fact,
            detail=meaning.words,
        )
        try:
            await self._context.on_delivery(update)
        except Exception:  # the contract says it does not raise; a bug must not kill us
            self._counters.inc("delivery_handler_error")
            log.exception("gsm: the delivery handler failed on %s", due.provider_id)
            return
        log.info("gsm: text %s %s (%s)", due.provider_id, meaning.state.value, meaning.words)
