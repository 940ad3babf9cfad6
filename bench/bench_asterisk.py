"""Asterisk source benchmarks: ingest rate against bare panoramisk, memory per call.

    .venv/bin/python -m bench.bench_asterisk

1. Ingest: the seven recorded streams (read=all, as recorded) repeated, fed in 64 KiB
   reads to (a) panoramisk 1.4's own AMIProtocol, which only splits and parses
   frames, and (b) ringback's protocol + frame parser + call tracker, which also
   judges every call. Same bytes, same process, best of three rounds each.
2. Memory: 10,000 calls left ringing (caller + three phone legs each) in one
   tracker; the process's resident size afterwards.
"""

from __future__ import annotations

import asyncio
import gc
import time
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from panoramisk.ami_protocol import AMIProtocol

from agent.model import Counters
from bench.harness import Figure, current_rss_mb, report
from drivers.base import SiteContext
from drivers.sources.asterisk.config import AsteriskConfig
from drivers.sources.asterisk.fake_server import demo_streams, split_frames
from drivers.sources.asterisk.protocol import AmiProtocol
from drivers.sources.asterisk.source import AsteriskSource

READ = 65536
REPEAT = 30
CALLS_IN_PROGRESS = 10_000
SITE = SiteContext("bench", ZoneInfo("UTC"))


class _Factory:
    """What panoramisk's protocol needs from its Manager to dispatch events."""

    forgetable_actions = ("ping", "login")
    awaiting_actions: ClassVar[list[Any]] = []

    def __init__(self) -> None:
        self.events = 0

    def dispatch(self, message: Any) -> None:
        self.events += 1


def _reads(data: bytes) -> list[bytes]:
    return [data[i : i + READ] for i in range(0, len(data), READ)]


def _panoramisk_seconds(reads: list[bytes]) -> float:
    proto = AMIProtocol()
    proto.connection_made(None)
    proto.factory = _Factory()
    proto.encoding = "utf8"
    start = time.perf_counter()
    for chunk in reads:
        proto.data_received(chunk)
    return time.perf_counter() - start


async def _ringback_seconds(reads: list[bytes], expect: int) -> float:
    config = AsteriskConfig(name="bench", secret="x")
    source = AsteriskSource(config, SITE)
    counters = Counters()
    from drivers.sources.asterisk.badinput import BadInput
    from drivers.sources.asterisk.connection import LIST_EVENTS
    from drivers.sources.asterisk.events import WANTED
    from drivers.sources.asterisk.frames import FrameParser

    parser = FrameParser(counters, BadInput(counters, "bench"), 65536, WANTED | LIST_EVENTS)
    proto = AmiProtocol(parser, lambda frames: source.on_events(frames, time.time()))
    proto.connection_made(None)
    start = time.perf_counter()
    for chunk in reads:
        proto.data_received(chunk)
    elapsed = time.perf_counter() - start
    got = source._queue.qsize()
    if got != expect:
        raise SystemExit(f"tracker finished {got} calls, expected {expect}")
    return elapsed


def _only_wanted(data: bytes) -> bytes:
    """The stream as Asterisk sends it once the Filter whitelist is in place."""
    from drivers.sources.asterisk.events import WANTED

    keep = [f for f in split_frames(data) if f.split(b"\r\n", 1)[0][7:].decode() in WANTED]
    return b"\r\n\r\n".join(keep) + b"\r\n\r\n"


def _compare(label: str, data: bytes, calls: int) -> list[Figure]:
    reads = _reads(data)
    bare = min(_panoramisk_seconds(reads) for _ in range(3))
    ours = min(asyncio.run(_ringback_seconds(reads, calls)) for _ in range(3))
    mb = len(data) / 1e6
    return [
        Figure(f"[{label}] panoramisk 1.4 parse only", mb / bare, "MB/s", 1.0, True),
        Figure(f"[{label}] ringback parse + track", mb / ours, "MB/s", 1.0, True),
        Figure(f"[{label}] ringback / panoramisk rate", bare / ours, "ratio", 0.8, True),
        Figure(f"[{label}] calls judged per second", calls / ours, "calls/s", 100.0, True),
    ]


def ingest() -> list[Figure]:
    data = b"".join(demo_streams().values()) * REPEAT
    calls = len(demo_streams()) * REPEAT
    return _compare("read=all", data, calls) + _compare("filtered", _only_wanted(data), calls)


def _ringing_prefix() -> bytes:
    """The answered ring-group recording cut while its three phones ring."""
    frames = split_frames(demo_streams()["answered_ringgroup"])
    last = max(i for i, f in enumerate(frames) if b"DialStatus: RINGING" in f)
    return b"\r\n\r\n".join(frames[: last + 1]) + b"\r\n\r\n"


async def _memory() -> tuple[float, int]:
    prefix = _ringing_prefix()
    stamp = next(f for f in split_frames(prefix) if b"Event: Newchannel" in f)
    linked = stamp.split(b"Linkedid: ")[1].split(b"\r\n")[0].split(b".")[0]
    config = AsteriskConfig(name="bench", secret="x")
    source = AsteriskSource(config, SITE)
    from drivers.sources.asterisk.badinput import BadInput
    from drivers.sources.asterisk.events import WANTED
    from drivers.sources.asterisk.frames import FrameParser

    counters = Counters()
    parser = FrameParser(counters, BadInput(counters, "bench"), 65536, WANTED)
    gc.collect()
    baseline = current_rss_mb()
    for i in range(CALLS_IN_PROGRESS):
        data = prefix.replace(linked + b".", b"%d." % (9_000_000_000 + i))
        source.on_events(parser.feed(data), time.time())
    gc.collect()
    return current_rss_mb() - baseline, source._tracker.calls_in_progress


def memory() -> list[Figure]:
    grown, calls = asyncio.run(_memory())
    if calls != CALLS_IN_PROGRESS:
        raise SystemExit(f"{calls} calls in progress, expected {CALLS_IN_PROGRESS}")
    total = current_rss_mb()
    return [
        Figure(f"RSS with {CALLS_IN_PROGRESS:,} calls in progress", total, "MB", 100.0, False),
        Figure("  of which the calls in progress", grown, "MB", 100.0, False),
    ]


def main() -> None:
    started = time.perf_counter()
    figures = ingest() + memory()
    report(figures)
    print(f"(bench_asterisk ran in {time.perf_counter() - started:.1f}s)")


if __name__ == "__main__":
    main()
