"""Spine figures: durable outbox enqueue vs raw SQLite commits of the same row with
the same settings (WAL, synchronous=FULL), measured in the same run (taking turns,
each on a fresh copy of the store's schema; the rows and settings are compared
after, and the CPU per row and the trips to SQLite's thread printed); start-up (exec
until the status API answers) and idle memory of the real daemon with the example
configuration (bench/daemon.py), printed beside the floor the card's own packages set
for it, measured in the same run (bench/card_floor.py). Median of three runs each.

    .venv/bin/python -m bench.bench_spine
"""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, cast

import aiosqlite

from agent.store import Store
from agent.store.base import PRAGMAS, ts
from agent.store.lend import Statements
from bench.daemon import AmiPeer, Daemon, example_config, free_port
from bench.harness import RUNS, Figure, Sample, current_rss_mb, report, scaled

N = 400
TURN = 25  # rows per turn: the sides take turns on the disk, 16 turns each a run
ROW_COLUMNS = "call_id, to_e164, department, template, language, dedup_key, state"
SETTINGS = ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
_INSERT = (
    "INSERT OR IGNORE INTO messages (call_id, to_e164, department, template, "
    "language, dedup_key, state, not_before, expires_at, created_at, updated_at) "
    "VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?)"
)


@dataclass(frozen=True, slots=True)
class Run:
    """N single-row commits of one side: the rate, the process's CPU per row (both
    threads, for ours), the file written and its connection's settings."""

    rate: float
    cpu_us: float
    path: Path
    settings: tuple[Any, ...]


async def side_by_side(raw_path: Path, our_path: Path, trip_path: Path) -> dict[str, Run]:
    """N single-row commits of the same outbox rows through bare sqlite3 (the store's
    statement as its own transaction, autocommit, as `Store.enqueue` runs it), N
    durable `Store.enqueue`s in series, and, for reference, the same bare commits
    each sent to aiosqlite's thread in one trip (the floor of any commit kept off
    the event loop's thread); each side on the store's own schema (made by `Store`,
    then closed: the same empty WAL) with the store's settings. The sides take
    turns of TURN rows (their order rotating), so the drift of the disk's fsync
    time during a run hits all alike."""
    for path in (raw_path, our_path, trip_path):
        await _make_schema(path)
    now = datetime.now(UTC)
    later = now + timedelta(hours=1)
    stamp, stamp_later = ts(now), ts(later)
    spent = {side: [0.0, 0.0] for side in ("raw", "ours", "trip")}  # wall, CPU seconds

    def row(i: int) -> tuple[Any, ...]:
        return (None, f"+1514555{i:04d}", "service", "open", "fr", f"+1514555{i:04d}:1",
                stamp, stamp_later, stamp, stamp)  # fmt: skip

    with closing(sqlite3.connect(raw_path, isolation_level=None)) as conn:
        for pragma in PRAGMAS:  # the store's own settings, all of them
            conn.execute(pragma).fetchall()

        async def raw_turn(first: int) -> None:
            for i in range(first, first + TURN):
                conn.execute(_INSERT, row(i))

        async with (
            Store(our_path) as store,
            aiosqlite.connect(trip_path, isolation_level=None) as bare,
        ):
            for pragma in PRAGMAS:
                await bare.execute_fetchall(pragma)
            to_thread = Statements(bare)

            async def our_turn(first: int) -> None:
                await _enqueue_series(store, range(first, first + TURN), now, later)

            async def trip_turn(first: int) -> None:
                for i in range(first, first + TURN):
                    await to_thread.call(partial(_bare_insert, row(i)))

            sides = [("raw", raw_turn), ("ours", our_turn), ("trip", trip_turn)]
            for turn, first in enumerate(range(0, N, TURN)):
                for side, run in sides[turn % 3 :] + sides[: turn % 3]:
                    cpu, start = time.process_time(), time.perf_counter()
                    await run(first)
                    spent[side][0] += time.perf_counter() - start
                    spent[side][1] += time.process_time() - cpu
            settings = {
                "ours": tuple([await store.scalar(f"PRAGMA {name}") for name in SETTINGS]),
                "trip": tuple(
                    [next(iter(await bare.execute_fetchall(f"PRAGMA {n}")))[0] for n in SETTINGS]
                ),
            }
        settings["raw"] = tuple(conn.execute(f"PRAGMA {n}").fetchone()[0] for n in SETTINGS)
    paths = {"raw": raw_path, "ours": our_path, "trip": trip_path}
    return {
        side: Run(N / wall, cpu / N * 1e6, paths[side], settings[side])
        for side, (wall, cpu) in spent.items()
    }


def _bare_insert(row: tuple[Any, ...], conn: sqlite3.Connection) -> None:
    conn.execute(_INSERT, row)


async def _make_schema(path: Path) -> None:
    async with Store(path):
        pass


async def _enqueue_series(store: Store, numbers: range, now: datetime, later: datetime) -> None:
    """The rows raw SQLite commits, through `Store.enqueue`, one after the other."""
    for i in numbers:
        await store.enqueue(
            call_id=None,
            to_e164=f"+1514555{i:04d}",
            department="service",
            template="open",
            language="fr",
            dedup_key=f"+1514555{i:04d}:1",
            not_before=now,
            expires_at=later,
            now=now,
        )


class _CountingQueue:
    """aiosqlite's queue to its thread, counting the jobs put on it: each is one trip
    to SQLite's thread and back."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.trips = 0

    def put_nowait(self, item: Any) -> None:
        self.trips += 1
        self.inner.put_nowait(item)


async def trips_per_enqueue(path: Path, count: int = 50) -> float:
    """Trips to SQLite's thread per enqueue (counted on a run of its own, untimed)."""
    await _make_schema(path)
    async with Store(path) as store:
        conn = cast(Any, store.conn)
        counter = _CountingQueue(conn._tx)
        conn._tx = counter
        try:
            now = datetime.now(UTC)
            await _enqueue_series(store, range(count), now, now + timedelta(hours=1))
        finally:
            conn._tx = counter.inner
    return counter.trips / count


def same_work(runs: dict[str, Run]) -> str:
    """Whether the runs committed the same rows (timestamps aside) with the same
    connection settings: what makes the raw rate the limit of ours."""
    seen = {}
    for side, run in runs.items():
        with closing(sqlite3.connect(run.path)) as conn:
            rows = conn.execute(f"SELECT {ROW_COLUMNS} FROM messages ORDER BY id").fetchall()
        seen[side] = (rows, run.settings)
    raw_rows, raw_settings = seen["raw"]
    for side, (rows, settings) in seen.items():
        if len(raw_rows) != N or rows != raw_rows:
            return f"NO: the rows differ ({len(raw_rows)} raw, {len(rows)} {side})"
        if settings != raw_settings:
            return f"NO: the settings differ (raw {raw_settings}, {side} {settings})"
    named = ", ".join(f"{n}={v}" for n, v in zip(SETTINGS, raw_settings, strict=True))
    return f"same {N} rows committed, same settings ({named})"


def startup(tmp: Path) -> tuple[float, float, float]:
    """Seconds from exec until the status API answers, with the example configuration,
    the daemon's CPU seconds by then, and its RSS in MB two seconds later (idle:
    connected, no calls)."""
    run = tmp / f"start-{time.monotonic_ns()}"
    run.mkdir()
    with AmiPeer() as peer:
        port = free_port()
        with Daemon(example_config(run, peer.server.port, port), port) as daemon:
            answering = daemon.wait_answering()
            cpu = daemon.cpu_seconds()
            time.sleep(2)
            return answering, cpu, current_rss_mb(daemon.pid)


def card_floor() -> float:
    """RSS in MB of a bare process holding the card's packages (bench/card_floor.py)."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.card_floor"], capture_output=True, text=True, check=True
    )
    return float(done.stdout)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="ringback-bench-") as tmp_name:
        tmp = Path(tmp_name)
        sides = [
            asyncio.run(side_by_side(tmp / f"raw{i}.db", tmp / f"store{i}.db", tmp / f"trip{i}.db"))
            for i in range(RUNS)
        ]
        runs = {side: [run[side] for run in sides] for side in ("raw", "ours", "trip")}
        trips = asyncio.run(trips_per_enqueue(tmp / "trips.db"))
        checked = same_work(sides[0])
        starts = [startup(tmp) for _ in range(RUNS)]
        floors = Sample.of([card_floor() for _ in range(RUNS)])
    raw, ours, floor = (Sample.of([r.rate for r in runs[side]]) for side in ("raw", "ours", "trip"))
    print(f"raw SQLite single-row commits/s {raw.text(',.0f')}")
    print(f"durable outbox enqueues/s {ours.text(',.0f')}")
    print(f"  the raw commits, each in one trip to aiosqlite's thread/s {floor.text(',.0f')}")
    cpu = {side: Sample.of([r.cpu_us for r in runs[side]]).text(".1f") for side in runs}
    print(
        f"CPU us per row (both threads): raw {cpu['raw']}, ours {cpu['ours']}, "
        f"raw in one trip {cpu['trip']}; trips to SQLite's thread per enqueue {trips:.2f}; "
        f"{checked}"
    )
    report(
        [
            Figure(
                "outbox enqueue rate",
                ours,
                "rows/s",
                scaled(raw, 0.9),
                True,
                f"0.9 x raw SQLite commits {raw.median:,.0f}/s",
            ),
            Figure(
                "ringback run (example config): exec to status API",
                Sample.of([s for s, _, _ in starts]),
                "s",
                0.5,
                False,
            ),
            Figure(
                "  the daemon's CPU time until then",
                Sample.of([cpu for _, cpu, _ in starts]),
                "s",
                0.5,
                False,
            ),
            Figure(
                "ringback run (example config): idle RSS",
                Sample.of([mb for _, _, mb in starts]),
                "MB",
                45.0,
                False,
            ),
        ]
    )
    print(
        "  its floor, the card's packages alone in a bare process (asyncio, ssl, a "
        "pydantic-settings model, an httpx client, aiosqlite, panoramisk, pyserial, "
        f"tenacity), MB: {floors.text('.1f')}"
    )


if __name__ == "__main__":
    main()
