"""`ringback demo --history`: two generated years of a dealership's calls, reported.

Writes the standard history (`agent.report.history.dealership_history`, ending yesterday)
into a temporary store, prints the text report of the last 52 weeks and writes the
HTML report (`--html FILE`, default ./ringback-demo-report.html). Nothing to set up.
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
import time
from dataclasses import replace
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from zoneinfo import ZoneInfo

from agent.config.hours import public_holidays
from agent.config.report import QUEBEC_TYRE_SEASONS
from agent.report.build import build_report, default_period
from agent.report.context import ReportContext
from agent.report.history import OPEN_HOURS, dealership_history, write_history_file
from agent.report.output import render

SITE = {"fr": "Garage Exemple (historique généré)", "en": "Garage Exemple (generated history)"}
TIMEZONE = "America/Toronto"
DEFAULT_HTML = Path("ringback-demo-report.html")


LABELS = {
    "fr": {"service": "Service", "sales": "Ventes", "parts": "Pièces"},
    "en": {"service": "Service", "sales": "Sales", "parts": "Parts"},
}


def history_context(since: date, until: date, language: str = "fr") -> ReportContext:
    """The generated dealership as its configuration would describe it: a Quebec site
    (holidays, tyre seasons), the history's opening hours and menu keys."""
    closed: set[date] = set()
    for year in range(since.year - 1, until.year + 1):
        closed |= public_holidays("CA", "QC", (), year)
    return ReportContext(
        language=language,
        labels=LABELS[language],
        hours={dept: _weekly(days) for dept, days in OPEN_HOURS.items()},
        holidays=frozenset(closed),
        seasons=QUEBEC_TYRE_SEASONS,
        menu={"2": "service", "1": "sales", "3": "parts"},
        has_hours=True,
    )


def _weekly(days: tuple[tuple[int, int], ...]) -> dict[int, list[tuple[clock_time, clock_time]]]:
    return {wd: [(clock_time(a), clock_time(b))] if b > a else [] for wd, (a, b) in enumerate(days)}


def run_history_demo(
    html: Path | None = None, calls_per_day: float = 150.0, language: str = "fr"
) -> int:
    tz = ZoneInfo(TIMEZONE)
    yesterday = datetime.now(tz).date() - timedelta(days=1)
    spec = replace(dealership_history(yesterday, calls_per_day=calls_per_day), cases=True)
    with tempfile.TemporaryDirectory(prefix="ringback-history-") as tmp:
        path = Path(tmp) / "ringback.db"
        started = time.perf_counter()
        facts = write_history_file(str(path), spec)
        print(
            f"generated {facts.calls} calls, {facts.messages} texts, {facts.replies} replies "
            f"from {spec.first} to {spec.end} in {time.perf_counter() - started:.1f} s "
            f"(storm on {spec.storm_day}; tyre rushes from "
            f"{', '.join(str(d) for d in spec.tyre_rushes)})\n",
            file=sys.stderr,
        )
        since, until = default_period(yesterday, None, None)
        conn = sqlite3.connect(path)
        try:
            report = build_report(
                conn,
                site=SITE[language],
                timezone=TIMEZONE,
                since=since,
                until=until,
                context=history_context(since, until, language),
            )
        finally:
            conn.close()
    sys.stdout.write(render(report, "text"))
    target = html or DEFAULT_HTML
    try:
        target.write_text(render(report, "html"), encoding="utf-8")
    except OSError as err:
        print(f"could not write the HTML report to {target}: {err.strerror}", file=sys.stderr)
        return 1
    print(f"\nHTML report (open it in a browser): {target.resolve()}", file=sys.stderr)
    return 0
