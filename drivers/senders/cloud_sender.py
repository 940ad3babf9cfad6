"""What the cloud senders (`twilio`, `webhook`) share, written once.

The chain's tuning copied from the config, one `httpx.AsyncClient` (each sender's
`__aenter__` says how to make it, `_opened()` makes it at the first text and
`__aexit__` here closes it: making one loads the CA bundle, a tenth of a second of
CPU with OpenSSL 3, which the daemon's start need not wait for), the health record
with its alarm log lines, and a `send()` that turns a bug of ours into `RetryLater`:
a Sender raises nothing but `CancelledError`. A subclass writes `_send()` (the
exchange and its verdict) and may add bookkeeping in `_after()`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, ClassVar

from agent.model import Health, OutgoingText, SendResult
from agent.numbers import mask
from drivers.base import SenderContext
from drivers.senders.cloud_config import CloudSenderConfig
from drivers.senders.cloud_http import CloudHealth, Rule, Verdict, result_of

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)


class CloudSender:
    kind: ClassVar[str]

    def __init__(self, config: CloudSenderConfig, context: SenderContext) -> None:
        self.name = config.name
        self.rate_per_minute = config.rate_per_minute
        self.breaker_failures = config.breaker_failures
        self.breaker_cooldown_seconds = config.breaker_cooldown_seconds
        self._site = context.site
        self._clock = context.site.clock
        self._health = CloudHealth(self.kind)
        self._client: httpx.AsyncClient | None = None
        self._make_client: Callable[[], httpx.AsyncClient] | None = None  # set by __aenter__

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._make_client = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _opened(self) -> bool:
        """Inside `async with`: the client, made now if this is the first request."""
        if self._client is None and self._make_client is not None:
            self._client = self._make_client()
        return self._client is not None

    def health(self) -> Health:
        return self._health.snapshot(self._clock())

    async def send(self, text: OutgoingText) -> SendResult:
        try:
            result, rule = await self._send(text)
        except asyncio.CancelledError:
            raise
        except Exception as err:  # a bug of ours: reported, never raised
            log.error("driver=%s internal error: %s", self.name, type(err).__name__, exc_info=True)
            rule = Rule(
                Verdict.RETRY, f"{self.kind} sender internal error: {type(err).__name__}", 60.0
            )
            result = result_of(rule)
        result = self._after(text, result)
        self._record(text, result, rule)
        return result

    async def _send(self, text: OutgoingText) -> tuple[SendResult, Rule | None]:
        raise NotImplementedError

    def _after(self, text: OutgoingText, result: SendResult) -> SendResult:
        """A subclass's bookkeeping on the final result (it may make it ambiguous)."""
        return result

    def _not_started(self) -> tuple[SendResult, Rule]:
        idle = Rule(Verdict.RETRY, f"{self.kind} sender not started", 5.0)
        return result_of(idle), idle

    def _record(self, text: OutgoingText, result: SendResult, rule: Rule | None) -> None:
        before = self._health.alarm
        self._health.record(result, rule, self._clock())
        if self._health.alarm and self._health.alarm != before:
            log.error("driver=%s alarm: %s", self.name, self._health.alarm)
        elif before and not self._health.alarm:
            log.warning("driver=%s alarm cleared", self.name)
        log.debug(
            "driver=%s message_id=%d to=%s result=%s",
            self.name, text.message_id, mask(text.to_e164), type(result).__name__,
        )  # fmt: skip
