"""Spine figures: durable outbox enqueue vs raw SQLite commits, start-up to READY,
idle memory of the daemon.

    .venv/bin/python -m bench.bench_spine
"""

from __future__ import annotations

import asyncio
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from agent.store import Store
from bench.harness import Figure, current_rss_mb, report

N = 400


def raw_commit_rate(path: Path) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=FULL"):
        conn.execute(f"PRAGMA {pragma}")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT UNIQUE, v TEXT)")
    start = time.perf_counter()
    for i in range(N):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t (k, v) VALUES (?, ?)", (f"+1514555{i:04d}:1", "x"))
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return N / elapsed


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


DEMO_CONFIG = """
site: {{name: Bench, timezone: America/Toronto}}
pbx:
  - {{type: replay, name: bench, path: {calls}}}
sms:
  senders: [{{type: log, name: dry-run, print: false}}]
status: {{listen: "127.0.0.1:0"}}
storage: {{path: {db}}}
"""


def startup(tmp: Path) -> tuple[float, float]:
    """Seconds from exec to READY=1, and RSS in MB two seconds after READY."""
    calls = tmp / "calls.jsonl"
    calls.write_text("")
    config = tmp / "ringback.yaml"
    config.write_text(DEMO_CONFIG.format(calls=calls, db=tmp / "start.db"))
    notify_path = tmp / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(notify_path))
    sock.settimeout(10)
    env = {**os.environ, "NOTIFY_SOCKET": str(notify_path)}
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent.cli.parser", "run", "-c", str(config)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while b"READY=1" not in sock.recv(4096):
            pass
        ready = time.perf_counter() - start
        time.sleep(2)
        rss = current_rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(30)
        sock.close()
    return ready, rss


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="ringback-bench-") as tmp_name:
        tmp = Path(tmp_name)
        # interleaved, best of three each: fsync timing drifts during a run
        raws, ourses = [], []
        for round_ in range(3):
            raws.append(raw_commit_rate(tmp / f"raw{round_}.db"))
            ourses.append(asyncio.run(enqueue_rate(tmp / f"store{round_}.db")))
        raw, ours = max(raws), max(ourses)
        ready, rss = startup(tmp)
    print(f"raw SQLite single-row commits {raw:.0f}/s, durable outbox enqueues {ours:.0f}/s")
    report(
        [
            Figure("outbox enqueue / raw SQLite commit rate", ours / raw, "x", 0.8, True),
            Figure("ringback run: exec to READY", ready, "s", 1.0, False),
            Figure("ringback run: idle RSS", rss, "MB", 60.0, False),
        ]
    )


if __name__ == "__main__":
    main()
