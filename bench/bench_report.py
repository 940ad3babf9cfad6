"""Report figures: a full report over one million calls against one plain full scan
of the same rows, memory against the number of calls, and the generator's rate.

    .venv/bin/python -m bench.bench_report
    RINGBACK_BENCH_CALLS=200000 .venv/bin/python -m bench.bench_report   (quicker)

- scan: `SELECT` of the columns the report reads, every row fetched into Python
  (the least any report computed in Python pays); report: `build_report` over the
  same year (every section, every department). Three of each, interleaved, same run;
  medians, the limit 1.5 x the scan's.
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
from bench.harness import Figure, Sample, interleaved, report, scaled

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
        got = interleaved({"scan": lambda: scan(conn), "report": lambda: full_report(conn)})
        site_mb, parts_mb = peak_memory(conn, None), peak_memory(conn, "parts")
        parts = facts.by_department.get("parts", 0)
        conn.close()
    scans, reports = got["scan"], got["report"]
    print(
        f"{facts.calls} calls ({parts} Parts), {facts.messages} texts, {facts.replies} replies; "
        f"scan {scans.text('.2f')} s, report {reports.text('.2f')} s; "
        f"peak memory site {site_mb:.1f} MB, Parts only {parts_mb:.1f} MB",
        flush=True,
    )
    report(
        [
            Figure(
                f"report over {facts.calls // 1000}k calls",
                reports,
                "s",
                scaled(scans, 1.5),
                False,
                f"1.5 x plain scan {scans.median:.2f} s",
            ),
            Figure(
                "report memory, site (all calls)",
                Sample.of([site_mb]),
                "MB",
                2.0 * parts_mb,
                False,
                f"2 x Parts only ({parts // 1000}k calls) {parts_mb:.1f} MB",
            ),
            Figure(
                "history generated and stored",
                Sample.of([facts.calls / generated]),
                "calls/s",
                20_000,
                True,
            ),
        ]
    )


if __name__ == "__main__":
    main()
