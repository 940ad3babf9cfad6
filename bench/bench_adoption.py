"""Adoption benchmark: 500 channels in progress read and adopted after a connect.

    .venv/bin/python -m bench.bench_adoption

The fake AMI peer holds 500 channels in progress (the answered ring-group recording
cut while its three phones ring, 125 times: a caller and three phones each) and
answers CoreShowChannels as Asterisk 22 does. Measured: from the TCP connect until
the source has adopted every call (login, filters, the whole event list, the
tracker's resync), best of three. Same-run baseline: panoramisk 1.4's own protocol
splitting and parsing the same list bytes, so a slow machine is seen as such.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from zoneinfo import ZoneInfo

from bench.bench_asterisk import _Factory
from bench.harness import Figure, Sample, report
from drivers.base import SiteContext
from drivers.sources.asterisk.config import AsteriskConfig
from drivers.sources.asterisk.fake_server import (
    FakeAmiServer,
    demo_streams,
    encode_frame,
    live_channels,
    split_frames,
)
from drivers.sources.asterisk.source import AsteriskSource

CHANNELS = 500
SITE = SiteContext("bench", ZoneInfo("UTC"))


def _channels() -> list[dict[str, str]]:
    frames = split_frames(demo_streams()["answered_ringgroup"])
    last = max(i for i, f in enumerate(frames) if b"DialStatus: RINGING" in f)
    one = live_channels(b"\r\n\r\n".join(frames[: last + 1]) + b"\r\n\r\n")
    out: list[dict[str, str]] = []
    for n in range(CHANNELS // len(one)):
        for chan in one:
            prefix = f"{9_000_000 + n}."
            out.append(
                {
                    **chan,
                    "Uniqueid": prefix + chan["Uniqueid"].split(".")[1],
                    "Linkedid": prefix + chan["Linkedid"].split(".")[1],
                }
            )
    return out


async def _adopt_seconds(channels: list[dict[str, str]]) -> float:
    calls = len({c["Linkedid"] for c in channels})
    async with FakeAmiServer() as server:
        server.channels = channels
        config = AsteriskConfig(name="bench", secret="s3cret", port=server.port)
        source = AsteriskSource(config, SITE)
        start = time.perf_counter()
        runner = asyncio.create_task(source._connection.run())
        while source._tracker.calls_in_progress < calls:  # noqa: ASYNC110
            await asyncio.sleep(0.001)
        elapsed = time.perf_counter() - start
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner
    return elapsed


def _panoramisk_seconds(channels: list[dict[str, str]]) -> float:
    from panoramisk.ami_protocol import AMIProtocol

    data = b"".join(encode_frame({"Event": "CoreShowChannel", **c}) for c in channels)
    proto = AMIProtocol()
    proto.connection_made(None)
    proto.factory = _Factory()
    start = time.perf_counter()
    proto.data_received(data)
    return time.perf_counter() - start


def main() -> None:
    channels = _channels()
    ours = [asyncio.run(_adopt_seconds(channels)) for _ in range(3)]
    bare = [_panoramisk_seconds(channels) for _ in range(3)]
    ratio = [a / b for a, b in zip(ours, bare, strict=True)]
    report(
        [
            Figure(f"adopt {len(channels)} channels in progress", Sample.of(ours), "s", 1.0, False),
            Figure(
                "  panoramisk 1.4 parse of the list (baseline)", Sample.of(bare), "s", 1.0, False
            ),
            Figure("  adoption / baseline parse", Sample.of(ratio), "ratio", 50.0, False),
        ]
    )


if __name__ == "__main__":
    main()
