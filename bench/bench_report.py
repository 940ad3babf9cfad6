"""Report figures: a full report over one million calls against one plain full scan
of the same rows, memory against the number of calls, and the generator's rate.

    .venv/bin/python -m bench.bench_report
    RINGBACK_BENCH_CALLS=200000 .venv/bin/python -m bench.bench_report   (quicker)

- scan: `SELECT` of the columns the report reads, every row fetched into Python
  (the least any report computed in Python pays); report: `build_report` over the
  same year (every section, every department). Best of two, interleaved, same run.
- memory: peak Python allocations (tracemalloc) of the site report (all calls) over
  the Parts-only report (about 8 % of the calls) of the same year: flat in the
  number of calls is ~1, proportional would be ~12.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import time
import tracemalloc
from datetime import date
from pathlib import Path

from agent.report.build import build_report
from agent.report.history import dealership_history, write_history_file
from bench.harness import Figure, report

END = date(2026, 11, 29)
SINCE = date(2025, 12, 1)
CALLS = int(os.environ.get("RINGBACK_BENCH_CALLS", "1000000"))


def scan(conn: sqlite3.Connection) -> float:
    start = time.perf_counter()
    for _ in conn.execute(
        "SELECT department, started_at, outcome, after_hours, recovered_at, ivr_path FROM calls"
    ):
        pass
    return time.perf_counter() - start


def full_report(conn: sqlite3.Connection, department: str | None = None) -> float:
    start = time.perf_counter()
    build_report(
        conn,
        site="bench",
        timezone="America/Toronto",
        since=SINCE,
        until=END,
        department=department,
    )
    return time.perf_counter() - start


def peak_memory(conn: sqlite3.Connection, department: str | None) -> float:
    tracemalloc.start()
    full_report(conn, department)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 1e6


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="ringback-bench-report-") as tmp:
        path = Path(tmp) / "ringback.db"
        spec = dealership_history(END, days=364, calls_per_day=CALLS / 364)
        start = time.perf_counter()
        facts = write_history_file(str(path), spec)
        generated = time.perf_counter() - start
        conn = sqlite3.connect(path)
        scan(conn)  # warm the page cache for both
        scans, reports = [], []
        for _ in range(2):
            scans.append(scan(conn))
            reports.append(full_report(conn))
        site_mb, parts_mb = peak_memory(conn, None), peak_memory(conn, "parts")
        parts = facts.by_department.get("parts", 0)
        conn.close()
    print(
        f"{facts.calls} calls ({parts} Parts), {facts.messages} texts, {facts.replies} replies; "
        f"scan {min(scans):.2f} s, report {min(reports):.2f} s; "
        f"peak memory site {site_mb:.1f} MB, Parts only {parts_mb:.1f} MB",
        flush=True,
    )
    report(
        [
            Figure(
                "report / plain full scan, same rows", min(reports) / min(scans), "x", 3.0, False
            ),
            Figure(
                f"report memory, {facts.calls // 1000}k calls / {parts // 1000}k calls",
                site_mb / parts_mb,
                "x",
                2.0,
                False,
            ),
            Figure(
                "history generated and stored", facts.calls / generated, "calls/s", 20_000, True
            ),
        ]
    )


if __name__ == "__main__":
    main()
