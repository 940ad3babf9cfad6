"""panoramisk's AMI protocol with byte-level framing.

panoramisk 1.4 decodes each TCP read on its own (`data.decode(encoding, 'ignore')`),
so a caller name whose UTF-8 character is split across two reads loses it ("Côté"
becomes "Cté"), and it builds a case-insensitive dict for every event. This subclass
keeps panoramisk's action machinery (`send()` with ActionIDs, futures, event lists
such as CoreShowChannels) but replaces `data_received` with `FrameParser`, which
buffers bytes until a frame is complete and decodes it whole. Frames answering one
of our actions go to panoramisk; every other event goes to `on_events` in batches.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from panoramisk.ami_protocol import AMIProtocol
from panoramisk.message import Message

from drivers.sources.asterisk.frames import Frame, FrameParser


class SessionLost(ConnectionError):
    """The AMI connection closed, or Asterisk stopped answering."""


class AmiProtocol(AMIProtocol):  # type: ignore[misc]
    """One TCP connection. `lost` resolves when it closes; pending actions then fail."""

    def __init__(
        self,
        parser: FrameParser,
        on_events: Callable[[list[Frame]], None],
    ) -> None:
        super().__init__()
        self.parser = parser
        self.on_events = on_events
        self.encoding = "utf-8"
        self.banner: str | None = None
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.received_bytes = 0  # any byte read is a sign of life (the keep-alive's view)

    def data_received(self, data: bytes) -> None:
        self.received_bytes += len(data)
        events: list[Frame] = []
        for frame in self.parser.feed(data):
            if "Banner" in frame and self.banner is None:
                self.banner = frame["Banner"]
            action_id = frame.get("ActionID")
            if action_id is not None and action_id in self.responses:
                self.handle_message(Message(frame))
            elif "Event" in frame:
                events.append(frame)
        if events:
            self.on_events(events)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        for action in list(self.responses.values()):
            if not action.future.done():
                action.future.set_exception(SessionLost("AMI connection closed"))
        self.responses.clear()
        if not self.lost.done():
            self.lost.set_result(None)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.transport.close()

    async def action(self, fields: dict[str, str], limit: float) -> Any:
        """Send one action; its response (a list for event lists). Raises SessionLost
        or TimeoutError."""
        if self.closed:
            raise SessionLost("AMI connection closed")
        async with asyncio.timeout(limit):
            return await self.send(fields)

    async def event_list(self, fields: dict[str, str], idle_limit: float) -> list[Message]:
        """Send an event-list action (CoreShowChannels) and return every message of
        the list: the response, each item, the `...Complete` event. panoramisk's
        `send()` defaults to `as_list=False`, which resolves on the first response and
        drops the list; `as_list=None` lets it detect the list (`EventList: start`) and
        still resolve a refusal at once. The limit is an idle time: it restarts with
        every item received, so a list of thousands of channels is read whole.
        Raises SessionLost or TimeoutError."""
        if self.closed:
            raise SessionLost("AMI connection closed")
        future = self.send(fields, as_list=None)
        action = next(a for a in self.responses.values() if a.future is future)
        seen = -1
        while True:
            done, _ = await asyncio.wait({future}, timeout=idle_limit)
            if done:
                result = future.result()
                return list(result) if isinstance(result, list) else [result]
            if len(action.responses) == seen:
                future.cancel()
                self.responses.pop(action.id, None)
                raise TimeoutError(f"{fields.get('Action')} list stalled")
            seen = len(action.responses)
