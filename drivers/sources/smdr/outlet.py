"""A bounded byte buffer in front of one pass-through consumer.

`offer()` never blocks and never raises: past `max_bytes` new data is dropped and
counted (`pass_through_dropped` on the source, `dropped` here), so a consumer that is
down or reads slowly never slows the reading of the PBX. The consumer's task waits
with `wait()` and takes everything buffered with `take()`; `write_until_eof` does that
for a socket consumer.
"""

from __future__ import annotations

import asyncio
from collections import deque

from agent.model import Counters

DEFAULT_MAX_BYTES = 1 << 20
WRITE_TIMEOUT = 10.0


class Outlet:
    def __init__(self, counters: Counters, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self._counters = counters
        self.max_bytes = max_bytes
        self._chunks: deque[bytes] = deque()
        self.size = 0
        self.dropped = 0
        self._ready = asyncio.Event()

    def offer(self, data: bytes) -> None:
        if self.size + len(data) > self.max_bytes:
            self._counters.inc("pass_through_dropped")
            self.dropped += 1
            return
        self._chunks.append(data)
        self.size += len(data)
        self._ready.set()

    def take(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        self.size = 0
        self._ready.clear()
        return data

    async def wait(self) -> None:
        await self._ready.wait()


async def write_until_eof(
    outlet: Outlet, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """Write what the outlet holds as it comes, until the consumer hangs up. A
    consumer that does not read for WRITE_TIMEOUT raises TimeoutError."""
    eof = asyncio.ensure_future(reader.read())  # the consumer hanging up
    try:
        while not eof.done():
            data = outlet.take()
            if data:
                writer.write(data)
                await asyncio.wait_for(writer.drain(), timeout=WRITE_TIMEOUT)
            waiter = asyncio.ensure_future(outlet.wait())
            await asyncio.wait({waiter, eof}, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
    finally:
        eof.cancel()
