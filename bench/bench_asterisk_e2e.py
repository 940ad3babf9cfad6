"""Asterisk end to end: fake AMI server over TCP -> source -> pipeline -> SQLite outbox.

    .venv/bin/python -m bench.bench_asterisk_e2e

The fake AMI server (`FakeAmiServer`) runs in a child process, as Asterisk would, on
loopback. The calls are the eight bundled recordings (Timestamps moved to now), each
copy with its own Linkedid/Uniqueid/bridge ids and, for inbound calls, its own valid
caller number (512/469/817/214/972/438/514/613/416/647 555-01xx), so no copy is a
duplicate of another. This process runs the real `Runtime`: the `AsteriskSource`
connection and tracker, the pipeline committing every call, its decision and its
outbox row and its recovery case (opened, joined, or a callback's attempt) into a
real `Store` (WAL, synchronous=FULL), the dispatcher (with a one
hour grace, so it sends nothing during the run) and a `log` sender.

1. Ingest: all calls written by the server at once; bytes per second from the write
   until the observer saw the last call accepted, against bare panoramisk 1.4
   parsing the same bytes (what the server sent, after its Filter) in 64 KiB reads.
   Interleaved rounds, best of each. Run with the Filter (the default) and without
   (`event_filter: false`, the read=all stream on the wire).
2. Latency: calls paced at 50/s. Each call's frames up to its last `Hangup` are
   written half a period before its final frames (the last `Hangup` and what
   follows); latency is from just before the final write (server side) to the
   observer seeing the call accepted, its outbox row committed (CLOCK_MONOTONIC,
   shared by both processes).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import re
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
from bench.harness import Figure, report
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
PACED_CALLS = 600
LATENCY_LIMIT_MS = 20.0

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
    heads = [_payload(client, c.head) for c in calls]
    tails = [_payload(client, c.tail) for c in calls]
    writer, period = client.writer, 1.0 / pace
    written: dict[str, float] = {}
    start = time.monotonic() + period
    writer.write(heads[0])
    for k, call in enumerate(calls):
        await asyncio.sleep(max(0.0, start + k * period - time.monotonic()))
        written[call.call_id] = time.monotonic()
        writer.write(tails[k])
        await writer.drain()
        if k + 1 < len(calls):
            await asyncio.sleep(max(0.0, start + (k + 0.5) * period - time.monotonic()))
            writer.write(heads[k + 1])
            await writer.drain()
    return written


# --- ringback, in this process -----------------------------------------------------


def config_text(db: Path, port: int, event_filter: bool) -> str:
    """The demo configuration (its departments match the recordings), with a one hour
    grace, no quiet hours, no global cap in reach and a silent dry-run sender."""
    text = demo_config_text(db, port)
    text = text.replace("grace_seconds: 1", "grace_seconds: 3600\n  global_hourly_cap: 1000000")
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
    body: Callable[[], Any],
) -> Any:
    db = tmp / f"e2e-{time.monotonic_ns()}.db"
    loaded = load_text(config_text(db, port, event_filter), tmp / "ringback.yaml")
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
            return await body()


async def ingest_round(
    conn: Connection, tmp: Path, port: int, calls: list[BenchCall], event_filter: bool
) -> tuple[float, bytes, int]:
    """(seconds from the server's write to the last call accepted, bytes sent, texts queued)."""
    observer = Observer(len(calls))
    frames = [f for c in calls for f in (*c.head, *c.tail)]

    async def body() -> tuple[float, bytes]:
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
) -> tuple[list[float], int]:
    """Milliseconds from each call's final write to its acceptance; texts queued."""
    observer = Observer(len(calls))

    async def body() -> dict[str, float]:
        conn.send(("paced", calls, PACE))
        written: dict[str, float] = await asyncio.to_thread(conn.recv)
        async with asyncio.timeout(30):
            await observer.done.wait()
        return written

    written = await _with_runtime(tmp, port, True, observer, body)
    return [(observer.accepted[cid] - t) * 1000 for cid, t in written.items()], observer.queued


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
                    ours.append(seconds)
                    bare.append(_panoramisk_seconds(_reads(payload)))
                mb = len(payload) / 1e6
                print(
                    f"[{label}] {len(calls)} calls, {mb:.1f} MB on the wire, "
                    f"{queued} texts queued; "
                    f"e2e {', '.join(f'{s:.2f}' for s in ours)} s; "
                    f"panoramisk {', '.join(f'{s:.2f}' for s in bare)} s",
                    flush=True,
                )
                e2e, parse = min(ours), min(bare)
                figures += [
                    Figure(f"[{label}] panoramisk 1.4 parse only", mb / parse, "MB/s", 1.0, True),
                    Figure(
                        f"[{label}] TCP + source + pipeline + store", mb / e2e, "MB/s", 1.0, True
                    ),
                    Figure(f"[{label}] e2e / panoramisk rate", parse / e2e, "ratio", 0.8, True),
                    Figure(
                        f"[{label}] calls stored per second",
                        len(calls) / e2e,
                        "calls/s",
                        50.0,
                        True,
                    ),
                ]
            paced = make_calls(PACED_CALLS)
            latencies, queued = asyncio.run(paced_round(conn, tmp, port, paced))
        p50, p99 = _percentile(latencies, 50), _percentile(latencies, 99)
        print(
            f"[paced] {len(latencies)} calls at {PACE:g}/s, {queued} texts queued; "
            f"hang-up -> outbox row ms: p50 {p50:.2f}, p99 {p99:.2f}, max {max(latencies):.2f}",
            flush=True,
        )
        figures += [
            Figure(
                f"hang-up -> outbox row p50 at {PACE:g} calls/s", p50, "ms", LATENCY_LIMIT_MS, False
            ),
            Figure(
                f"hang-up -> outbox row p99 at {PACE:g} calls/s", p99, "ms", LATENCY_LIMIT_MS, False
            ),
        ]
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
