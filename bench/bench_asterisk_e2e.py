"""Asterisk end to end: fake AMI server over TCP -> source -> pipeline -> SQLite outbox.

    .venv/bin/python -m bench.bench_asterisk_e2e

The fake AMI server (`FakeAmiServer`) runs in a child process, as Asterisk would, on
loopback. The calls are the eight bundled recordings (Timestamps moved to now), each
copy with its own Linkedid/Uniqueid/bridge ids and, for inbound calls, its own valid
caller number (512/469/817/214/972/438/514/613/416/647 555-01xx), so no copy is a
duplicate of another. This process runs the real `Runtime`: the `AsteriskSource`
connection and tracker, the pipeline committing every call, its decision and its
outbox row and its recovery case (opened, joined, or a callback's attempt) into a
real `Store` (WAL, synchronous=FULL), the dispatcher and a `log` sender. Every
figure is the median of three rounds, with the spread.

1. Ingest: all calls written by the server at once; bytes per second from the write
   until the observer saw the last call accepted, against bare panoramisk 1.4
   parsing the same bytes (what the server sent, after its Filter) in 64 KiB reads.
   measured in the same round (the limit: 1.0 x its rate). One hour of grace, so
   nothing is sent during these rounds. Run with the Filter (the default) and
   without (`event_filter: false`, the read=all stream on the wire).
2. Latency, as the goal is set: grace 0 (the dispatcher sends each text through the
   `log` sender as its call is stored), calls ending at 50/s and interleaved (each
   call's frames before its last `Hangup` spread over the half second before it, so
   about 25 calls are in progress at once and their frames alternate on the wire).
   Latency is from just before a call's final write (the last `Hangup` and what
   follows, server side) to the observer seeing the call accepted, its outbox row
   committed (CLOCK_MONOTONIC, shared by both processes).
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import re
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from agent.cli.demo import demo_config_text
from agent.config.settings import load_text
from agent.daemon.runtime import Runtime
from agent.decide.pipeline import Accepted
from agent.model import CallRecord
from agent.store import Store
from bench.bench_asterisk import _panoramisk_seconds, _reads
from bench.harness import Figure, Sample, report, scaled
from drivers.sources.asterisk.demo import shift_to_now
from drivers.sources.asterisk.fake_server import (
    SEP,
    Client,
    FakeAmiServer,
    demo_streams,
    frame_fields,
    split_frames,
)

SECRET = "bench-secret"
AREAS = (512, 469, 817, 214, 972, 438, 514, 613, 416, 647)
INGEST_CALLS = 400  # 50 of each recording, every caller number different
ROUNDS = 3
PACE = 50.0  # calls per second
PACED_CALLS = 300
LATENCY_LIMIT_MS = 20.0
LEAD = 0.5  # seconds a call's frames are spread over before its last Hangup

_ID = re.compile(rb"^(\w*(?:Uniqueid|Linkedid|UniqueID|LinkedID)): \d+\.(\d+)\r$", re.MULTILINE)
_BRIDGE = re.compile(rb"^(BridgeUniqueid): ([^\r]+)\r$", re.MULTILINE)
_SESSION_EVENTS = (b"Event: FullyBooted\r\n", b"Event: SuccessfulAuth\r\n")


# --- the calls ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    stream: bytes  # the recording without its session events, Timestamps moved to now
    caller: bytes | None  # the caller's 10 national digits, None for an internal call


@dataclass(frozen=True, slots=True)
class BenchCall:
    call_id: str
    head: list[bytes]  # frames before the last Hangup
    tail: list[bytes]  # the last Hangup and what follows


def scenarios() -> list[Scenario]:
    out = []
    for name, data in shift_to_now(demo_streams()).items():
        frames = [f for f in split_frames(data) if not f.startswith(_SESSION_EVENTS)]
        origin = next(
            fields
            for f in frames
            if f.startswith(b"Event: Newchannel\r\n")
            and (fields := frame_fields(f))["Uniqueid"] == fields["Linkedid"]
        )
        digits = re.sub(r"\D", "", origin["CallerIDNum"])[-10:]
        caller = digits.encode() if len(digits) == 10 else None
        out.append(Scenario(name, SEP.join(frames) + SEP, caller))
    return out


def number(index: int) -> bytes:
    """A valid caller number of its own for each of the first 1,000 calls."""
    area = AREAS[index // 100 % len(AREAS)]
    return b"%d55501%02d" % (area, index % 100)


def make_call(scenario: Scenario, index: int) -> BenchCall:
    prefix = b"%d" % (7_000_000_000 + index)
    data = _ID.sub(
        lambda m: m.group(1) + b": " + prefix + b"." + m.group(2) + b"\r", scenario.stream
    )
    data = _BRIDGE.sub(lambda m: m.group(1) + b": " + m.group(2) + b"-%d\r" % index, data)
    if scenario.caller is not None:
        data = data.replace(scenario.caller, number(index))
    frames = split_frames(data)
    last = max(i for i, f in enumerate(frames) if f.startswith(b"Event: Hangup\r\n"))
    origin = next(frame_fields(f) for f in frames if f.startswith(b"Event: Newchannel\r\n"))
    return BenchCall(origin["Linkedid"], frames[:last], frames[last:])


def make_calls(count: int) -> list[BenchCall]:
    known = scenarios()
    return [make_call(known[i % len(known)], i) for i in range(count)]


# --- the fake Asterisk, in its own process -----------------------------------------


def _serve(conn: Connection) -> None:
    asyncio.run(_server_main(conn))


async def _server_main(conn: Connection) -> None:
    async with FakeAmiServer(secret=SECRET) as server:
        conn.send(server.port)
        while True:
            command, *args = await asyncio.to_thread(conn.recv)
            if command == "quit":
                return
            client = [c for c in server.clients if c.authed and not c.writer.is_closing()][-1]
            if command == "burst":
                await _burst(conn, client, args[0])
            elif command == "paced":
                conn.send(await _paced(client, args[0], args[1]))


def _payload(client: Client, frames: list[bytes]) -> bytes:
    """What the server sends this client of these frames (its Filter applied)."""
    return b"".join(f + SEP for f in frames if client.wants(f))


async def _burst(conn: Connection, client: Client, frames: list[bytes]) -> None:
    payload = _payload(client, frames)
    conn.send(payload)
    await asyncio.to_thread(conn.recv)  # "go"
    client.writer.write(payload)
    await client.writer.drain()


async def _paced(client: Client, calls: list[BenchCall], pace: float) -> dict[str, float]:
    """Calls finishing at `pace` per second, interleaved: each call's frames before its
    last Hangup are spread over the `LEAD` seconds before it, so about `LEAD * pace`
    calls are in progress at once and their frames alternate on the wire."""
    period = 1.0 / pace
    start = time.monotonic() + LEAD + period
    schedule: list[tuple[float, int, str | None, bytes]] = []
    for k, call in enumerate(calls):
        end = start + k * period
        head = [f for f in call.head if client.wants(f)]
        for i, frame in enumerate(head):
            at = end - LEAD + (LEAD - period / 2) * i / max(1, len(head))
            schedule.append((at, 0, None, frame + SEP))
        schedule.append((end, 1, call.call_id, _payload(client, call.tail)))
    schedule.sort(key=lambda item: (item[0], item[1]))
    writer = client.writer
    written: dict[str, float] = {}
    pending = bytearray()
    for at, _, call_id, data in schedule:
        delay = at - time.monotonic()
        if delay > 0:
            if pending:
                writer.write(bytes(pending))
                pending.clear()
                await writer.drain()
            await asyncio.sleep(delay)
        if call_id is None:
            pending += data
            continue
        writer.write(bytes(pending) + data)
        pending.clear()
        written[call_id] = time.monotonic()
        await writer.drain()
    return written


# --- ringback, in this process -----------------------------------------------------


def config_text(db: Path, port: int, event_filter: bool, grace: int = 3600) -> str:
    """The demo configuration (its departments match the recordings), with the given
    grace (an hour: nothing is sent during an ingest round; 0 for the paced round:
    each text goes out as its call is stored), no quiet hours, no global cap in reach
    and a silent dry-run sender."""
    text = demo_config_text(db, port)
    text = text.replace("grace_seconds: 1", f"grace_seconds: {grace}\n  global_hourly_cap: 1000000")
    if "print: false" not in text:  # the demo's own config may already keep it silent
        text = text.replace("name: dry-run", "name: dry-run\n      print: false")
    if not event_filter:
        text = text.replace(
            "secret: demo-only-secret", "secret: demo-only-secret\n    event_filter: false"
        )
    return text.replace("demo-only-secret", SECRET)


class Observer:
    """Counts accepted calls and when each was; `done` once `expect` were seen."""

    def __init__(self, expect: int) -> None:
        self.expect = expect
        self.accepted: dict[str, float] = {}
        self.queued = 0
        self.done = asyncio.Event()

    def __call__(self, record: CallRecord, accepted: Accepted) -> None:
        self.accepted[record.call_id] = time.monotonic()
        self.queued += accepted.message_id is not None
        if len(self.accepted) >= self.expect:
            self.done.set()


async def _with_runtime(
    tmp: Path,
    port: int,
    event_filter: bool,
    observer: Observer,
    body: Callable[[Path], Any],
    grace: int = 3600,
) -> Any:
    db = tmp / f"e2e-{time.monotonic_ns()}.db"
    loaded = load_text(config_text(db, port, event_filter, grace), tmp / "ringback.yaml")
    async with Store(db) as store:
        runtime = Runtime(loaded, store, observer=observer, stop_deadline=2.0)
        async with runtime:
            source = runtime.sources[0].source
            for _ in range(1000):  # logged in, events asked for, snapshot taken: 10 s at most
                if source.health().details.get("connected"):
                    break
                await asyncio.sleep(0.01)
            else:
                raise SystemExit("the source did not connect to the fake AMI server")
            return await body(db)


async def ingest_round(
    conn: Connection, tmp: Path, port: int, calls: list[BenchCall], event_filter: bool
) -> tuple[float, bytes, int]:
    """(seconds from the server's write to the last call accepted, bytes sent, texts queued)."""
    observer = Observer(len(calls))
    frames = [f for c in calls for f in (*c.head, *c.tail)]

    async def body(db: Path) -> tuple[float, bytes]:
        conn.send(("burst", frames))
        payload: bytes = await asyncio.to_thread(conn.recv)
        start = time.monotonic()
        conn.send(("go",))
        async with asyncio.timeout(60):
            await observer.done.wait()
        return max(observer.accepted.values()) - start, payload

    seconds, payload = await _with_runtime(tmp, port, event_filter, observer, body)
    return seconds, payload, observer.queued


async def paced_round(
    conn: Connection, tmp: Path, port: int, calls: list[BenchCall]
) -> tuple[list[float], int, int]:
    """Milliseconds from each call's final write to its acceptance (its outbox row
    committed), with grace 0 so the dispatcher sends each text meanwhile; texts
    queued, texts sent."""
    observer = Observer(len(calls))

    async def body(db: Path) -> tuple[dict[str, float], int]:
        conn.send(("paced", calls, PACE))
        written: dict[str, float] = await asyncio.to_thread(conn.recv)
        async with asyncio.timeout(60):
            await observer.done.wait()
        sent = 0
        for _ in range(600):  # the last texts are still going out: 30 s at most
            sent = _sent(db)
            if sent >= observer.queued:
                break
            await asyncio.sleep(0.05)
        return written, sent

    written, sent = await _with_runtime(tmp, port, True, observer, body, grace=0)
    latencies = [(observer.accepted[cid] - t) * 1000 for cid, t in written.items()]
    return latencies, observer.queued, sent


def _sent(db: Path) -> int:
    with contextlib.closing(sqlite3.connect(db)) as read:
        row = read.execute("SELECT count(*) FROM messages WHERE state = 'sent'").fetchone()
    return int(row[0])


def _percentile(values: list[float], q: int) -> float:
    return (
        statistics.quantiles(values, n=100, method="inclusive")[q - 1]
        if len(values) > 1
        else values[0]
    )


def main() -> None:
    started = time.perf_counter()
    ctx = multiprocessing.get_context("spawn")
    conn, child_conn = ctx.Pipe()
    server = ctx.Process(target=_serve, args=(child_conn,), name="fake-asterisk", daemon=True)
    server.start()
    figures: list[Figure] = []
    try:
        port: int = conn.recv()
        calls = make_calls(INGEST_CALLS)
        with tempfile.TemporaryDirectory(prefix="ringback-bench-") as tmp_name:
            tmp = Path(tmp_name)
            for label, event_filter in (("filtered", True), ("read=all", False)):
                ours: list[float] = []
                bare: list[float] = []
                for _ in range(ROUNDS):
                    seconds, payload, queued = asyncio.run(
                        ingest_round(conn, tmp, port, calls, event_filter)
                    )
                    mb = len(payload) / 1e6
                    ours.append(mb / seconds)
                    bare.append(mb / _panoramisk_seconds(_reads(payload)))
                e2e, parse = Sample.of(ours), Sample.of(bare)
                print(
                    f"[{label}] {len(calls)} calls, {mb:.1f} MB on the wire, "
                    f"{queued} texts queued; MB/s e2e {e2e.text('.2f')}, "
                    f"panoramisk {parse.text('.2f')}",
                    flush=True,
                )
                figures += [
                    Figure(f"[{label}] panoramisk 1.4 parse only", parse, "MB/s", 0, True,
                           "reference"),
                    Figure(f"[{label}] TCP + source + pipeline + store", e2e, "MB/s",
                           scaled(parse, 1.0), True, f"1.0 x panoramisk {parse.median:.2f}"),
                    Figure(f"[{label}] calls stored per second",
                           Sample.of([len(calls) * r / mb for r in ours]), "calls/s", 50.0, True),
                ]  # fmt: skip
            paced = make_calls(PACED_CALLS)
            p50s, p99s, maxes = [], [], []
            for _ in range(ROUNDS):
                latencies, queued, sent = asyncio.run(paced_round(conn, tmp, port, paced))
                p50s.append(_percentile(latencies, 50))
                p99s.append(_percentile(latencies, 99))
                maxes.append(max(latencies))
                print(
                    f"[paced] {len(latencies)} calls at {PACE:g}/s interleaved, grace 0, "
                    f"{queued} texts queued, {sent} sent; hang-up -> outbox row ms: "
                    f"p50 {p50s[-1]:.2f}, p99 {p99s[-1]:.2f}, max {maxes[-1]:.2f}",
                    flush=True,
                )
        figures += [
            Figure(f"hang-up -> outbox row p50 at {PACE:g} calls/s", Sample.of(p50s), "ms",
                   LATENCY_LIMIT_MS, False),
            Figure(f"hang-up -> outbox row p99 at {PACE:g} calls/s", Sample.of(p99s), "ms",
                   LATENCY_LIMIT_MS, False),
        ]  # fmt: skip
    finally:
        conn.send(("quit",))
        server.join(10)
        if server.is_alive():
            server.kill()
            server.join()
    report(figures)
    print(f"(bench_asterisk_e2e ran in {time.perf_counter() - started:.1f}s)")


if __name__ == "__main__":
    main()
