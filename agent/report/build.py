"""`ringback report`: the numbers managers act on, from the calls already recorded.

`build_report()` reads the store (read-only, beside a running daemon) in one pass
(see `query`) and derives, per department and for the site: counts and rates,
the weekday x hour heat map, the worst days (`score`), week by week against
the same weeks a year before, and losses per IVR branch. Renderers turn a `Report`
into text, CSV, JSON or one self-contained HTML page (`text`, `render`, `html`; `output`
picks one).
Dates and hours are the site's; `since` and `until` are local dates, both included.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from agent.report.cases import CaseFigures, case_figures
from agent.report.context import ReportContext
from agent.report.data import SITE, UNANSWERED_OUTCOMES, Branch, Scope, Week
from agent.report.query import scan
from agent.report.reasons import Reason, reasons
from agent.report.score import Shift, WorstDay, median, season_shift, worst_days
from agent.report.staffing import Advice, staffing_advice

FORMATS = ("text", "csv", "json", "html")
YEAR = timedelta(days=364)  # 52 weeks: the same weekday a year before


@dataclass(slots=True)
class Section:
    """One department's (or the site's) report."""

    scope: Scope
    worst: list[WorstDay] = field(default_factory=list)
    weeks: list[Week] = field(default_factory=list)
    shift: Shift | None = None
    branches: list[Branch] = field(default_factory=list)
    reasons: dict[date, list[Reason]] = field(default_factory=dict)
    staffing: list[Advice] = field(default_factory=list)
    cases: CaseFigures | None = None


@dataclass(slots=True)
class Report:
    site: str
    timezone: str
    since: date
    until: date
    generated_at: datetime
    department: str | None
    sections: list[Section]
    context: ReportContext = field(default_factory=ReportContext)
    queries: dict[str, list[str]] = field(default_factory=dict)

    def section(self, name: str) -> Section:
        return next(s for s in self.sections if s.scope.name == name)


def open_readonly(path: Path) -> sqlite3.Connection:
    """The store, read-only: safe beside the running daemon (WAL readers never block)."""
    if not path.exists():
        raise FileNotFoundError(
            f"no store at {path} yet (`ringback run` creates it when it first starts; "
            "storage.path says where)"
        )
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)


def default_period(today: date, since: date | None, until: date | None) -> tuple[date, date]:
    """Until today, since 52 weeks before `until` when not given."""
    end = until or today
    return since or end - YEAR + timedelta(days=1), end


def build_report(
    conn: sqlite3.Connection,
    *,
    site: str,
    timezone: str,
    since: date,
    until: date,
    department: str | None = None,
    now: datetime | None = None,
    context: ReportContext | None = None,
) -> Report:
    """The report of `since`..`until`; with a `context` (the site's configuration)
    the worst days get their reasons and departments their staffing advice; each
    section has its recovery cases' figures (`cases`) when the store has cases."""
    context = context or ReportContext()
    tz = ZoneInfo(timezone)
    start = datetime.combine(since, time(0), tz)
    end = datetime.combine(until + timedelta(days=1), time(0), tz)
    before = datetime.combine(since - YEAR, time(0), tz)
    queries: dict[str, list[str]] = {}
    with _traced(conn, queries, "scan"):
        scopes = scan(conn, tz, start, end, before, department)
    # The site, then departments by volume (Service first at a dealership).
    order = [
        SITE,
        *sorted((n for n in scopes if n != SITE), key=lambda n: (-scopes[n].totals.inbound, n)),
    ]
    sections = [_section(scopes[name], since, until, context) for name in order]
    with _traced(conn, queries, "cases"):
        figures = case_figures(conn, tz, start, end, department, now or datetime.now(tz))
    for section in sections:
        section.cases = figures.get(section.scope.name)
    if context.has_hours:
        with _traced(conn, queries, "staffing"):
            advice = staffing_advice(conn, tz, until, context.hours, context.targets, department)
        for section in sections:
            section.staffing = [a for a in advice if a.department == section.scope.name]
    return Report(
        site=site,
        timezone=timezone,
        since=since,
        until=until,
        generated_at=now or datetime.now(tz),
        department=department,
        sections=sections,
        context=context,
        queries=queries,
    )


@contextmanager
def _traced(conn: sqlite3.Connection, into: dict[str, list[str]], name: str) -> Iterator[None]:
    """Record under `name` every statement SQLite runs (parameters filled in)."""
    found = into.setdefault(name, [])
    conn.set_trace_callback(lambda sql: found.append(" ".join(sql.split())))
    try:
        yield
    finally:
        conn.set_trace_callback(None)


def _section(scope: Scope, since: date, until: date, context: ReportContext) -> Section:
    days = [since + timedelta(days=i) for i in range((until - since).days + 1)]
    daily = {d: scope.daily[d].missed if d in scope.daily else 0 for d in days}
    weeks = _weeks(scope, since, until)
    shift = season_shift([w.missed for w in weeks], [w.last_year for w in weeks])
    worst = worst_days(daily)
    calls_by_weekday: dict[int, list[int]] = {}
    for d in days:
        calls_by_weekday.setdefault(d.weekday(), []).append(
            scope.daily[d].calls if d in scope.daily else 0
        )
    why = {
        w.day: reasons(
            w.day,
            scope.daily[w.day].calls if w.day in scope.daily else 0,
            median(calls_by_weekday[w.day.weekday()]),
            context.holidays,
            context.seasons,
        )
        for w in worst
    }
    return Section(scope, worst, weeks, shift, branches(scope), why)


def _weeks(scope: Scope, since: date, until: date) -> list[Week]:
    """Monday-to-Sunday weeks of the period with the same 7 days 52 weeks before
    (None when the store has no call at all in them)."""
    out = []
    monday = since - timedelta(days=since.weekday())
    while monday <= until:
        days = [monday + timedelta(days=i) for i in range(7)]
        inside = [d for d in days if since <= d <= until]
        missed = sum(scope.daily[d].missed for d in inside if d in scope.daily)
        before = [scope.before.get(d - YEAR) for d in days]
        last = sum(c.missed for c in before if c) if any(c and c.calls for c in before) else None
        out.append(Week(monday, missed, last, len(inside) < 7))
        monday += timedelta(days=7)
    return out


def branches(scope: Scope) -> list[Branch]:
    """Every IVR branch and its prefixes (`2*1` -> `2`, `2*1`); "" is the main menu.
    Reached = calls whose keys start with the branch; hung up = abandoned_ivr with
    exactly these keys; lost after = other unanswered outcomes with these keys."""
    found: dict[str, Branch] = {}
    for (path, outcome), n in scope.paths.items():
        if not path and outcome != "abandoned_ivr":
            continue  # never went through the menu (a direct line)
        prefixes = {""} | {path[: i + 1] for i in range(len(path)) if path[i] != "*"}
        for prefix in prefixes:
            found.setdefault(prefix, Branch(prefix)).reached += n
        branch = found[path]
        if outcome == "abandoned_ivr":
            branch.hung_up += n
        elif outcome in UNANSWERED_OUTCOMES:
            branch.lost_after += n
    return sorted(found.values(), key=lambda b: (-b.hung_up, b.path))
