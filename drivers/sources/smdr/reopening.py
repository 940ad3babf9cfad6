"""One pass-through output that ringback opens itself and opens again after a failure:
the dial-out (passthrough.py `DialOut`) and the serial port (passthrough_serve.py
`SerialOut`). A subclass names its `kind`, the errors that end a session and what to
say of them, and runs one `_session()` (opened: `_opened()`, then writing until it
fails); the loop, the backoff, the buffer and the status are here."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, ClassVar, NoReturn

from agent.model import Counters
from drivers.sources.smdr.line import reconnect_backoff
from drivers.sources.smdr.outlet import DEFAULT_MAX_BYTES, Outlet

log = logging.getLogger("drivers.sources.smdr")


class ReopeningOutput:
    kind: ClassVar[str]
    errors: ClassVar[tuple[type[BaseException], ...]] = (OSError,)

    def __init__(
        self,
        address: str,
        counters: Counters,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        cap: float = 30.0,
    ) -> None:
        self.address = address
        self.outlet = Outlet(counters, max_bytes)
        self._backoff = reconnect_backoff(cap)
        self.connected = False
        self.last_error = ""

    def offer(self, data: bytes) -> None:
        self.outlet.offer(data)

    def details(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "address": self.address,
            "connected": self.connected,
            "buffered_bytes": self.outlet.size,
            "dropped": self.outlet.dropped,
            "last_error": self.last_error,
        }

    async def run(self) -> NoReturn:
        while True:
            try:
                await self._session()
            except self.errors as err:
                self.last_error = self.describe(err)
            if self.connected:
                log.warning("smdr pass-through %s: lost (%s)", self.address, self.last_error)
            self.connected = False
            await asyncio.sleep(self._backoff.next())

    def _opened(self, what: str) -> None:
        self.connected = True
        self._backoff.reset()
        log.info("smdr pass-through: %s %s", what, self.address)

    def describe(self, err: BaseException) -> str:
        return getattr(err, "strerror", None) or type(err).__name__

    async def _session(self) -> None:
        raise NotImplementedError
