"""Texts callers send back, and delivery reports: read, decoded, handed over, deleted.

`on_urc` (called by the reader, must not block) queues `+CMTI` indexes and routed
`+CMT`/`+CDS` PDUs; `work()` reads them with `AT+CMGR`; `poll()` lists the whole SIM
(`AT+CMGL=4`) to catch anything missed while ringback was down. A complete text goes
to `context.on_inbound` first, and only after it returned is it deleted (`AT+CMGD`).
A PDU that does not decode is counted, logged once, and left on the SIM. Delivery
reports (`+CDS` routed, `+CDSI` stored in the report memory, or a report found on the
SIM) go to `reports.Reports`.
"""

from __future__ import annotations

import asyncio
import logging
import re

from agent.model import Counters, InboundText
from drivers.base import SenderContext
from drivers.senders.gsm.at import AtChannel, Urc
from drivers.senders.gsm.config import GsmConfig
from drivers.senders.gsm.inbox import Complete, Reassembler, Stored, parse_listing, parse_read
from drivers.senders.gsm.pdu_decode import PduError, decode_deliver
from drivers.senders.gsm.reports import Reports
from drivers.senders.gsm.stored_reports import delete as delete_report
from drivers.senders.gsm.stored_reports import listing as list_reports
from drivers.senders.gsm.stored_reports import parse_cdsi
from drivers.senders.gsm.stored_reports import read as read_report

log = logging.getLogger(__name__)
REPORT_MEMORY = "SR"
_CMTI = re.compile(r'^\+CMTI:\s*"?[A-Z]*"?\s*,\s*(\d+)')


class Replies:
    def __init__(
        self,
        config: GsmConfig,
        context: SenderContext,
        counters: Counters,
        name: str,
        reports: Reports,
    ) -> None:
        self._config = config
        self._wait = config.command_timeout_seconds
        self._context = context
        self._counters = counters
        self._name = name
        self._indexes: list[int] = []
        self._routed: list[Urc] = []
        self._stored_reports: list[tuple[str, int]] = []
        self._bad: set[tuple[int, str]] = set()
        self._parts = Reassembler()
        self._reports = reports

    def on_urc(self, urc: Urc) -> bool:
        """True when the URC is ours (work queued)."""
        match = _CMTI.match(urc.line)
        if match:
            self._indexes.append(int(match.group(1)))
            return True
        if urc.line.startswith(("+CMT:", "+CDS:")) and urc.pdu is not None:
            self._routed.append(urc)
            return True
        slot = parse_cdsi(urc.line)
        if slot is not None:
            self._stored_reports.append(slot)
            return True
        return False

    def next_due(self, now: float) -> float:
        return now + min(60.0, self._config.inbound_part_wait_seconds)

    async def work(self, channel: AtChannel, lock: asyncio.Lock) -> None:
        await self._reports.flush()
        while self._routed:
            urc = self._routed.pop(0)
            assert urc.pdu is not None
            if urc.line.startswith("+CDS:"):
                await self._reports.take(urc.pdu, lock)
            else:
                await self._take(channel, lock, Stored(-1, urc.pdu))
        while self._stored_reports:
            await self._stored_report(channel, lock, *self._stored_reports.pop(0))
        while self._indexes:
            index = self._indexes.pop(0)
            async with lock:
                answer = await channel.command(
                    f"AT+CMGR={index}", self._config.command_timeout_seconds
                )
            stored = parse_read(index, answer.lines) if answer.ok else None
            if stored is not None:
                await self._take(channel, lock, stored)
        for text in self._parts.expired(_now(), self._config.inbound_part_wait_seconds):
            self._counters.inc("inbound_incomplete")
            await self._hand_over(channel, lock, text)

    async def _stored_report(
        self, channel: AtChannel, lock: asyncio.Lock, memory: str, index: int, pdu: str = ""
    ) -> None:
        """A `+CDSI` report: read from its memory, handed over, then deleted."""
        pdu = pdu or await read_report(channel, lock, memory, index, self._wait) or ""
        if not pdu:
            return
        await self._reports.take(pdu, lock)
        if not await delete_report(channel, lock, memory, index, self._wait):
            self._counters.inc("inbound_delete_failed")
            log.warning("gsm: could not delete stored delivery report %s %d", memory, index)

    async def poll_reports(self, channel: AtChannel, lock: asyncio.Lock) -> None:
        """The report memory listed (modems that store reports): each one handed over
        or counted, then deleted, so the memory never fills up."""
        for stored in await list_reports(channel, lock, REPORT_MEMORY, self._wait):
            await self._stored_report(channel, lock, REPORT_MEMORY, stored.index, stored.pdu)

    async def poll(self, channel: AtChannel, lock: asyncio.Lock) -> None:
        async with lock:
            answer = await channel.command("AT+CMGL=4", self._wait)
        if not answer.ok:
            return
        for stored in parse_listing(answer.lines):
            await self._take(channel, lock, stored)

    async def _take(self, channel: AtChannel, lock: asyncio.Lock, stored: Stored) -> None:
        if (stored.index, stored.pdu) in self._bad or (
            stored.index >= 0 and self._parts.known(stored.index)
        ):
            return
        try:
            message = decode_deliver(stored.pdu)
        except PduError as err:
            if await self._reports.take(stored.pdu, lock, quiet=True):
                await self._delete(channel, lock, (stored.index,))
                return
            self._bad.add((stored.index, stored.pdu))
            self._counters.inc("inbound_undecodable")
            log.warning("gsm: reply at SIM index %d does not decode (%s): kept on the SIM",
                        stored.index, err)  # fmt: skip
            return
        if message.bad_concat:
            self._counters.inc("inbound_bad_concat")
            log.warning("gsm: reply at SIM index %d has an impossible part number; read "
                        "as a text of its own", stored.index)  # fmt: skip
        complete = self._parts.add(stored.index, message, _now())
        if complete is not None:
            await self._hand_over(channel, lock, complete)

    async def _hand_over(self, channel: AtChannel, lock: asyncio.Lock, text: Complete) -> None:
        inbound = InboundText(
            from_e164=text.sender,
            body=text.body,
            received_at=text.received_at or self._context.site.clock(),
            sender=self._name,
        )
        try:
            await self._context.on_inbound(inbound)
        except Exception:
            self._counters.inc("inbound_handler_error")
            log.exception("gsm: the reply handler failed; the reply stays on the SIM")
            self._parts.forget(text.indexes)
            return
        self._counters.inc("inbound_received")
        log.info("gsm: reply received (%d part(s), %d missing)",
                 len(text.indexes), text.missing_parts)  # fmt: skip
        await self._delete(channel, lock, text.indexes)

    async def _delete(
        self, channel: AtChannel, lock: asyncio.Lock, indexes: tuple[int, ...]
    ) -> None:
        for index in indexes:
            if index < 0:
                continue
            async with lock:
                answer = await channel.command(
                    f"AT+CMGD={index}", self._config.command_timeout_seconds
                )
            if answer.ok:
                self._parts.forget((index,))
            else:
                self._counters.inc("inbound_delete_failed")
                log.warning("gsm: could not delete SIM index %d (%s)", index, answer.final.text)


def _now() -> float:
    return asyncio.get_running_loop().time()
