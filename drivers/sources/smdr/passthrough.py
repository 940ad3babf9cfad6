"""Pass-through: every raw byte from the PBX, unchanged, to another consumer.

A PBX often has one SMDR output and the dealership's call accounting already reads
it; ringback takes the output and forwards it to `pass_through: host:port`. The
consumer can never slow or stop ingestion: `offer()` only appends to a bounded
buffer (beyond `max_bytes` new data is dropped and counted as
`pass_through_dropped`), and a separate task connects, writes and reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from typing import NoReturn

from agent.model import Counters
from drivers.sources.smdr.config import split_host_port
from drivers.sources.smdr.line import CONNECT_TIMEOUT, keepalive, reconnect_backoff

log = logging.getLogger("drivers.sources.smdr")
WRITE_TIMEOUT = 10.0


class PassThrough:
    def __init__(
        self, address: str, counters: Counters, *, max_bytes: int = 1 << 20, cap: float = 30.0
    ) -> None:
        self.address = address
        self._host, self._port = split_host_port(address)
        self._counters = counters
        self._max = max_bytes
        self._chunks: deque[bytes] = deque()
        self._size = 0
        self._wake = asyncio.Event()
        self._backoff = reconnect_backoff(cap)
        self.connected = False
        self.last_error = ""

    def offer(self, data: bytes) -> None:
        """Queue bytes for the consumer; never blocks, never raises."""
        if self._size + len(data) > self._max:
            self._counters.inc("pass_through_dropped")
            return
        self._chunks.append(data)
        self._size += len(data)
        self._wake.set()

    @property
    def buffered(self) -> int:
        return self._size

    async def run(self) -> NoReturn:
        while True:
            try:
                await self._session()
            except (OSError, TimeoutError) as err:
                self.last_error = getattr(err, "strerror", None) or type(err).__name__
            if self.connected:
                log.warning("smdr pass-through %s: lost (%s)", self.address, self.last_error)
            self.connected = False
            await asyncio.sleep(self._backoff.next())

    async def _session(self) -> None:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(self._host, self._port), timeout=CONNECT_TIMEOUT
        )
        keepalive(writer.get_extra_info("socket"))
        self.connected = True
        self._backoff.reset()
        log.info("smdr pass-through: connected to %s", self.address)
        eof = asyncio.ensure_future(reader.read())  # the consumer hanging up
        try:
            while not eof.done():
                self._wake.clear()
                while self._chunks:
                    chunk = self._chunks.popleft()
                    self._size -= len(chunk)
                    writer.write(chunk)
                await asyncio.wait_for(writer.drain(), timeout=WRITE_TIMEOUT)
                waiter = asyncio.ensure_future(self._wake.wait())
                await asyncio.wait({waiter, eof}, return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
            self.last_error = "closed by the consumer"
        finally:
            eof.cancel()
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
