"""`ringback demo`'s PBX: the fake AMI server playing the recordings bundled here.

The recordings' `Timestamp:` headers are moved so that the last call ends now, and
they are played in the order they were recorded: the demo's calls are always fresh.
All were recorded from a real Asterisk but `callback_answered.ami`, written in their
exact format (same dialplan, channels and fields): extension 101 calls back the
caller of `voicemail_after_ringout` and talks 42 s, so the demo shows a case closing
on a callback.
"""

from __future__ import annotations

import re
import time

from drivers.sources.asterisk.fake_server import FakeAmiServer, demo_streams

_STAMP = re.compile(rb"^Timestamp: (\d+\.\d+)\r$", re.MULTILINE)


def shift_to_now(streams: dict[str, bytes]) -> dict[str, bytes]:
    """Each stream with its timestamps moved so the latest call ends now, in recorded order."""
    firsts = {name: _stamps(data) for name, data in streams.items()}
    latest = max((s[-1] for s in firsts.values() if s), default=time.time())
    shift = time.time() - latest

    def moved(match: re.Match[bytes]) -> bytes:
        return b"Timestamp: %.6f\r" % (float(match.group(1)) + shift)

    ordered = sorted(streams, key=lambda n: firsts[n][0] if firsts[n] else 0.0)
    return {name: _STAMP.sub(moved, streams[name]) for name in ordered}


def _stamps(data: bytes) -> list[float]:
    return [float(m.group(1)) for m in _STAMP.finditer(data)]


class AsteriskDemoPeer(FakeAmiServer):
    """A `drivers.base.DemoPeer` speaking AMI (user `ringback`, the demo's secret)."""

    def __init__(self, secret: str) -> None:
        super().__init__(username="ringback", secret=secret, seed=1)

    def recordings(self) -> dict[str, bytes]:
        return shift_to_now(demo_streams())

    async def ready(self, within: float) -> None:
        """Once the source has logged in and set its filters (it asks for the channels
        in progress right after), so no played event is missed."""
        await self.wait_logins(1, within=within)
        await self.wait_action("CoreShowChannels", within=within)
