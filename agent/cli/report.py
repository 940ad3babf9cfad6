"""`ringback report`: read the store read-only and write the report in the format asked."""

from __future__ import annotations

import sqlite3
import sys
from datetime import date, datetime
from pathlib import Path

from agent.config.settings import LoadedConfig
from agent.report.build import default_period, open_readonly
from agent.report.output import render, site_report


def run_report(
    loaded: LoadedConfig,
    since: date | None,
    until: date | None,
    department: str | None,
    fmt: str,
    output: Path | None,
    language: str | None = None,
) -> int:
    """Entry point of `ringback report`; returns the exit code."""
    settings = loaded.settings
    known = set(settings.departments.by_name())
    if department is not None and department not in known:
        print(
            f"ringback report: unknown department {department!r} "
            f"(expected one of: {', '.join(sorted(known))})",
            file=sys.stderr,
        )
        return 2
    today = datetime.now(settings.site.tz).date()
    start, end = default_period(today, since, until)
    if end < start:
        print("ringback report: --until is before --since", file=sys.stderr)
        return 2
    try:
        conn = open_readonly(settings.storage.path)
    except (OSError, sqlite3.Error) as err:
        print(f"ringback report: {err}", file=sys.stderr)
        return 1
    with conn:
        report = site_report(conn, settings, start, end, department, language)
    conn.close()
    text = render(report, fmt)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        print(f"report written to {output}", file=sys.stderr)
    return 0
