"""`SmdrSource`: the live SMDR stream as a `drivers.base.Source`.

One link task (line.py) reads bytes and hands them over a small bounded queue (a
slow consumer slows the PBX link through TCP flow control, it never grows memory);
the pass-through, if any, gets the same bytes before parsing. `records()` frames,
decodes and parses them (ingest.py), releases calls held for a continuation after
their timeout, and yields finished `CallRecord`s. It runs until cancelled and
raises for nothing the PBX or the wire can do.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import datetime

from agent.model import CallRecord, Counters, Health, HealthState
from drivers.base import SiteContext
from drivers.sources.smdr.config import SmdrConfig
from drivers.sources.smdr.families import make_parser
from drivers.sources.smdr.framing import Framer, LengthPrefixedFramer, LineFramer
from drivers.sources.smdr.ingest import COUNTERS, Ingest
from drivers.sources.smdr.line import LinkStatus, endpoint_of, run_link
from drivers.sources.smdr.mitel_5000 import login_frame
from drivers.sources.smdr.passthrough import pass_through_of

log = logging.getLogger("drivers.sources.smdr")
QUEUE_CHUNKS = 64
FLUSH_EVERY = 30.0


class SmdrSource:
    def __init__(self, config: SmdrConfig, site: SiteContext) -> None:
        self.name = config.name
        self._config = config
        self._site = site
        self._counters = Counters(*COUNTERS, "connects", "disconnects", "pass_through_dropped")
        self._status = LinkStatus(endpoint_of(config))
        self._ingest = Ingest(make_parser(config, site.tz), config, self._counters)
        self._framers: dict[int, Framer] = {}
        self._pass = pass_through_of(config, self._counters)

    def _length_prefixed(self) -> bool:
        if self._config.format != "mitel_5000":
            return False
        framing = self._config.mitel_5000.framing if self._config.mitel_5000 else "auto"
        tcp = (self._config.url or "").startswith("socket://")
        return framing == "length_prefixed" or (framing == "auto" and tcp)

    def _greeting(self) -> bytes | None:
        if not self._length_prefixed() or not (self._config.url or "").startswith("socket://"):
            return None
        options = self._config.mitel_5000
        secret = options.password if options else None
        return login_frame(secret.get_secret_value() if secret else "")

    def _framer(self, stream: int) -> Framer:
        framer = self._framers.get(stream)
        if framer is None:
            size = self._config.max_line_bytes
            framer = LengthPrefixedFramer(size) if self._length_prefixed() else LineFramer(size)
            self._framers[stream] = framer
        return framer

    def _take(self, stream: int, data: bytes, now: datetime) -> list[CallRecord]:
        """Bytes of one stream -> finished calls; b"" = the stream ended."""
        if not data:
            framer = self._framers.pop(stream, None)
            partial = framer.take_partial() if framer else b""
            if partial:
                self._ingest.bad("line_truncated", partial, "link lost mid-record", now)
            return []
        framer = self._framer(stream)
        records = self._ingest.lines(framer.feed(data), now)
        for reason, raw in framer.dropped:
            self._ingest.bad(reason, raw, "cut by framing", now)
        framer.dropped.clear()
        return records

    async def records(self) -> AsyncIterator[CallRecord]:
        queue: asyncio.Queue[tuple[int, bytes]] = asyncio.Queue(QUEUE_CHUNKS)

        async def emit(stream: int, data: bytes) -> None:
            if not data:  # end of stream: never wait (we may be shutting down)
                with contextlib.suppress(asyncio.QueueFull):
                    queue.put_nowait((stream, data))
                return
            if self._pass is not None:
                self._pass.offer(data)
            await queue.put((stream, data))

        tasks: list[asyncio.Task[None]] = [
            asyncio.create_task(
                run_link(self._config, self._greeting(), emit, self._status, self._counters),
                name=f"smdr-{self.name}-link",
            )
        ]
        if self._pass is not None:
            tasks.append(asyncio.create_task(self._pass.run(), name=f"smdr-{self.name}-pass"))
        every = min(FLUSH_EVERY, self._config.continuation_timeout_seconds / 4)
        try:
            while True:
                try:
                    stream, data = await asyncio.wait_for(queue.get(), timeout=every)
                except TimeoutError:
                    stream, data = 0, b""
                now = self._site.clock()
                for record in self._take(stream, data, now) + self._ingest.flush(now):
                    yield record
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    def health(self) -> Health:
        status = self._status
        state, summary = self._state()
        details: dict[str, object] = {
            "format": self._config.format,
            "endpoint": status.endpoint,
            "link": status.state,
            "since": status.since.isoformat() if status.since else None,
            "last_error": status.last_error,
            "last_data_at": status.last_data_at.isoformat() if status.last_data_at else None,
            "pending_calls": self._ingest.parser.pending(),
            "bad_lines": list(self._ingest.bad_lines),
        }
        if self._config.listen is not None:
            details["peers"] = status.peers
        if self._pass is not None:
            details["pass_through"] = self._pass.details()
        return Health(state, summary, status.since, details, self._counters.snapshot())

    def _state(self) -> tuple[HealthState, str]:
        status = self._status
        if status.state == "starting":
            return HealthState.STARTING, f"opening {status.endpoint}"
        if status.state == "reconnecting":
            return HealthState.DOWN, f"{status.endpoint}: {status.last_error}; retrying"
        if status.state == "listening" and status.peers == 0:
            return HealthState.DEGRADED, f"{status.endpoint}: waiting for the PBX to connect"
        if self._ingest.noisy():
            return HealthState.DEGRADED, (
                f"{status.endpoint}: most recent lines unreadable "
                f"(wrong baud rate, parity or format {self._config.format!r}?)"
            )
        return HealthState.OK, f"{status.endpoint}: {status.state}"
