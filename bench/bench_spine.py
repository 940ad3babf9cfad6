"""Spine figures: durable outbox enqueue vs raw SQLite commits of the same row with
the same settings (WAL, synchronous=FULL), measured in the same run; start-up (exec
until the status API answers) and idle memory of the real daemon with the example
configuration (bench/daemon.py). Median of three runs each.

    .venv/bin/python -m bench.bench_spine
"""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from agent.store import Store
from agent.store.base import PRAGMAS, ts
from bench.daemon import AmiPeer, Daemon, example_config, free_port
from bench.harness import RUNS, Figure, Sample, current_rss_mb, interleaved, report, scaled

N = 400


def raw_commit_rate(path: Path) -> float:
    """Single-row commits of the same outbox row through bare sqlite3, on the store's
    own schema (made by `Store`, then closed) and its settings."""
    asyncio.run(_make_schema(path))
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in PRAGMAS:  # the store's own settings, all of them
        conn.execute(pragma).fetchall()
    now = datetime.now(UTC)
    stamp, later = ts(now), ts(now + timedelta(hours=1))
    sql = (
        "INSERT OR IGNORE INTO messages (call_id, to_e164, department, template, "
        "language, dedup_key, state, not_before, expires_at, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?)"
    )
    start = time.perf_counter()
    for i in range(N):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            sql,
            (None, f"+1514555{i:04d}", "service", "open", "fr", f"+1514555{i:04d}:1",
             stamp, later, stamp, stamp),
        )  # fmt: skip
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return N / elapsed


async def _make_schema(path: Path) -> None:
    async with Store(path):
        pass


async def enqueue_rate(path: Path) -> float:
    now = datetime.now(UTC)
    async with Store(path) as store:
        start = time.perf_counter()
        for i in range(N):
            await store.enqueue(
                call_id=None,
                to_e164=f"+1514555{i:04d}",
                department="service",
                template="open",
                language="fr",
                dedup_key=f"+1514555{i:04d}:1",
                not_before=now,
                expires_at=now + timedelta(hours=1),
                now=now,
            )
        elapsed = time.perf_counter() - start
    return N / elapsed


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


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="ringback-bench-") as tmp_name:
        tmp = Path(tmp_name)
        rounds = iter(range(1000))  # fsync timing drifts during a run: interleaved
        got = interleaved(
            {
                "raw": lambda: raw_commit_rate(tmp / f"raw{next(rounds)}.db"),
                "ours": lambda: asyncio.run(enqueue_rate(tmp / f"store{next(rounds)}.db")),
            }
        )
        starts = [startup(tmp) for _ in range(RUNS)]
    raw, ours = got["raw"], got["ours"]
    print(f"raw SQLite single-row commits/s {raw.text(',.0f')}")
    print(f"durable outbox enqueues/s {ours.text(',.0f')}")
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


if __name__ == "__main__":
    main()
