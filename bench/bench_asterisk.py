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
import tempfile
import time
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from panoramisk.ami_protocol import AMIProtocol

from agent.model import Counters
from bench.daemon import AmiPeer, Daemon, example_config, free_port
from bench.harness import RUNS, Figure, Sample, current_rss_mb, interleaved, report, scaled
from drivers.base import SiteContext
from drivers.sources.asterisk.config import AsteriskConfig
from drivers.sources.asterisk.demo import shift_to_now
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
    mb = len(data) / 1e6
    got = interleaved(
        {
            "bare": lambda: mb / _panoramisk_seconds(reads),
            "ours": lambda: mb / asyncio.run(_ringback_seconds(reads, calls)),
        }
    )
    bare, ours = got["bare"], got["ours"]
    return [
        Figure(f"[{label}] panoramisk 1.4 parse only", bare, "MB/s", 0.0, True, "reference"),
        Figure(
            f"[{label}] ringback parse + track",
            ours,
            "MB/s",
            scaled(bare, 1.0),
            True,
            f"1.0 x panoramisk {bare.median:.2f} MB/s",
        ),
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


def _ringing_calls(count: int) -> bytes:
    """`count` copies of the ringing prefix, each its own Linkedid and Uniqueids."""
    prefix = b"".join(shift_to_now({"p": _ringing_prefix()}).values())
    stamp = next(f for f in split_frames(prefix) if b"Event: Newchannel" in f)
    linked = stamp.split(b"Linkedid: ")[1].split(b"\r\n")[0].split(b".")[0]
    return b"".join(
        prefix.replace(linked + b".", b"%d." % (9_000_000_000 + i)) for i in range(count)
    )


def _daemon_rss(tmp: Path, calls: bytes) -> tuple[float, float]:
    """(idle RSS, RSS with the calls in progress) of `ringback run`, in MB."""
    run = tmp / f"run-{time.monotonic_ns()}"
    run.mkdir()
    with AmiPeer() as peer:
        port = free_port()
        with Daemon(example_config(run, peer.server.port, port), port) as daemon:
            daemon.wait_answering()
            deadline = time.monotonic() + 60
            while _in_progress(daemon.status()) != 0 and time.monotonic() < deadline:
                time.sleep(0.1)  # connected, snapshot taken
            while not peer.server.clients or not peer.server.clients[-1].authed:
                time.sleep(0.05)
            time.sleep(1)
            idle = current_rss_mb(daemon.pid)
            peer.run(peer.server.send(calls))
            deadline = time.monotonic() + 300
            while (seen := _in_progress(daemon.status())) != CALLS_IN_PROGRESS:
                if time.monotonic() > deadline:
                    raise SystemExit(f"{seen} calls in progress, expected {CALLS_IN_PROGRESS}")
                time.sleep(0.2)
            time.sleep(1)
            return idle, current_rss_mb(daemon.pid)


def _in_progress(doc: dict[str, Any]) -> int | None:
    value = doc.get("pbx", {}).get("pbx", {}).get("details", {}).get("calls_in_progress")
    return value if isinstance(value, int) else None


def memory() -> list[Figure]:
    calls = _ringing_calls(CALLS_IN_PROGRESS)
    with tempfile.TemporaryDirectory(prefix="ringback-bench-") as tmp:
        runs = [_daemon_rss(Path(tmp), calls) for _ in range(RUNS)]
    return [
        Figure("ringback run (example config): idle RSS", Sample.of([i for i, _ in runs]),
               "MB", 45.0, False),
        Figure(f"ringback run: RSS, {CALLS_IN_PROGRESS:,} calls in progress",
               Sample.of([b for _, b in runs]), "MB", 70.0, False),
    ]  # fmt: skip


def main() -> None:
    started = time.perf_counter()
    figures = ingest() + memory()
    report(figures)
    print(f"(bench_asterisk ran in {time.perf_counter() - started:.1f}s)")


if __name__ == "__main__":
    main()
