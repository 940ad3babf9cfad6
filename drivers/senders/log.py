"""The `log` sender: a dry run that prints the text it would send and sends nothing
(and, as a drill, reports each one delivered or undeliverable at once)."""

from __future__ import annotations

import logging
import sys
from types import TracebackType
from typing import Self

from agent.model import (
    Counters,
    Delivery,
    DeliveryReport,
    Health,
    HealthState,
    NumberFact,
    OutgoingText,
    RetryLater,
    SendResult,
    Sent,
)
from drivers.base import SenderContext
from drivers.senders.log_config import LogConfig

log = logging.getLogger(__name__)


class LogSender:
    """Always usable; `Sent("log-<message id>-<attempt>")` unless a drill says otherwise."""

    def __init__(self, config: LogConfig, context: SenderContext) -> None:
        self.name = config.name
        self._config = config
        self._context = context
        self._counters = Counters("sent", "drill_retry")
        self._calls = 0

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    async def send(self, text: OutgoingText) -> SendResult:
        self._calls += 1
        if self._config.fail_every and self._calls % self._config.fail_every == 0:
            self._counters.inc("drill_retry")
            return RetryLater(0.0, "drill: fail_every")
        self._counters.inc("sent")
        log.info("dry run: would send message_id=%d driver=%s", text.message_id, self.name)
        if self._config.print:
            print(f"  text to {text.to_e164}: {text.body}", file=sys.stdout, flush=True)
        sent = Sent(f"log-{text.message_id}-{text.attempt}")
        if self._config.report != "none":
            await self._report(sent.provider_id)
        return sent

    async def _report(self, provider_id: str) -> None:
        """The drill's delivery report, handed over before the send returns."""
        incapable = self._config.report == "sms_incapable"
        self._counters.inc("drill_report")
        await self._context.on_delivery(
            DeliveryReport(
                sender=self.name,
                provider_id=provider_id,
                state=Delivery.UNDELIVERED if incapable else Delivery.DELIVERED,
                at=self._context.site.clock(),
                error_code="log:sms_incapable" if incapable else None,
                fact=NumberFact.SMS_INCAPABLE if incapable else None,
                detail="drill: the number cannot take texts" if incapable else "drill",
            )
        )

    def health(self) -> Health:
        return Health(HealthState.OK, "dry run", counters=self._counters.snapshot())
