"""The departments' side-by-side table of the HTML report, figure by figure: recovered
(reached / replied) and the median time to the first call back come from the recovery
cases of the period; each row names the query of `--format json` that produced it."""

from __future__ import annotations

import json
import sqlite3
import statistics
from dataclasses import replace
from datetime import date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

from agent.report.build import build_report
from agent.report.context import ReportContext
from agent.report.history import dealership_history, write_history
from agent.report.output import render
from tests.report.conftest import MONDAY, Calls, local, stamp


class _Compare(HTMLParser):
    """The rows of `#compare table`: (data-q, row header, cells)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[str, str, list[str]]] = []
        self._inside = False
        self._cell: list[str] | None = None
        self._first = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "table" and found.get("class") == "compare":
            self._inside = True
        elif self._inside and tag == "tr":
            self.rows.append((found.get("data-q") or "", "", []))
            self._first = True
        elif self._inside and tag in ("td", "th"):
            self._cell = []

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._inside = False
        elif self._inside and tag in ("td", "th") and self._cell is not None:
            text, self._cell = " ".join(t.strip() for t in self._cell if t.strip()), None
            query, _, cells = self.rows[-1]
            if self._first:
                self.rows[-1] = (query, text, cells)
            else:
                cells.append(text)
            self._first = False


def case(
    db: sqlite3.Connection,
    department: str,
    opened: datetime,
    *,
    resolution: str | None = None,
    first_attempt_minutes: float | None = None,
    replied: bool = False,
) -> None:
    def later(minutes: float | None) -> str | None:
        return None if minutes is None else stamp(opened + timedelta(minutes=minutes))

    db.execute(
        "INSERT INTO cases (caller_e164, department, state, resolution, opened_at, "
        "last_miss_at, sla_due_at, first_attempt_at, replied_at, touched_at, updated_at) "
        "VALUES ('+15145550123', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            department,
            "open" if resolution is None else "closed",
            resolution,
            stamp(opened),
            stamp(opened),
            later(60),
            later(first_attempt_minutes),
            later(40) if replied else None,
            stamp(opened),
            stamp(opened),
        ),
    )


def seed(db: sqlite3.Connection, calls: Calls) -> None:
    """Monday 2026-11-23. Service: reached by a call (first call back after 10 min),
    reached elsewhere (30 min), replied and still open (no call back), expired after
    one unanswered call back (50 min). Sales: one caller who replied. A Service case
    of the week before is outside the period."""
    day = "2026-11-23"
    for minute in range(4):
        calls.call(local(f"{day} 09:{10 + minute}"), "missed")
        calls.call(local(f"{day} 09:{20 + minute}"), "answered")
    calls.call(local(f"{day} 10:00"), "missed", "sales", number="+14385550144")
    calls.call(local(f"{day} 10:05"), "answered", "sales")
    case(db, "service", local(f"{day} 09:10"), resolution="reached", first_attempt_minutes=10)
    case(
        db,
        "service",
        local(f"{day} 09:11"),
        resolution="reached_elsewhere",
        first_attempt_minutes=30,
    )
    case(db, "service", local(f"{day} 09:12"), replied=True)
    case(db, "service", local(f"{day} 09:13"), resolution="expired", first_attempt_minutes=50)
    case(db, "sales", local(f"{day} 10:00"), replied=True)
    case(db, "service", local("2026-11-16 09:00"), resolution="reached", first_attempt_minutes=1)


def test_recovered_and_first_call_back_side_by_side(db: sqlite3.Connection, calls: Calls) -> None:
    """Service 3 recovered (2 reached / 1 replied), median first call back 30 min of
    10, 30 and 50; Sales 1 (0 / 1), no call back; the site 4 (2 / 2), 30 min. The
    calls' rows come from `scan`, the cases' from `cases`, both in the JSON's queries."""
    seed(db, calls)
    report = build_report(
        db,
        site="Garage",
        timezone="America/Toronto",
        since=MONDAY,
        until=MONDAY,
        now=local("2026-11-24 12:00"),
        context=ReportContext(language="en"),
    )
    parser = _Compare()
    parser.feed(render(report, "html"))
    header, *rows = parser.rows
    assert header[2] == ["Service", "Sales", "Site"]
    table = {label: (query, cells) for query, label, cells in rows}
    assert table["recovered (reached / replied)"] == (
        "cases",
        ["3 (2 / 1)", "1 (0 / 1)", "4 (2 / 2)"],
    )
    assert table["median time to the first call back"] == ("cases", ["30 min", "–", "30 min"])
    assert table["calls lost"] == ("scan", ["4", "1", "5"])
    assert table["calls received"] == ("scan", ["8", "2", "10"])
    queries = json.loads(render(report, "json"))["queries"]
    assert {q for q, _, _ in rows} <= set(queries)
    assert any("FROM cases WHERE opened_at" in sql for sql in queries["cases"])
    assert any("FROM calls" in sql for sql in queries["scan"])


def test_a_store_without_cases_shows_dashes(db: sqlite3.Connection, calls: Calls) -> None:
    """No recovery case in the period (an older store's history): dashes, not zeros
    and not the calls' own recovered figures."""
    calls.call(local("2026-11-23 09:10"), "missed", recovered_minutes=10)
    report = build_report(
        db,
        site="Garage",
        timezone="America/Toronto",
        since=MONDAY,
        until=MONDAY,
        context=ReportContext(language="fr"),
    )
    parser = _Compare()
    parser.feed(render(report, "html"))
    table = {label: cells for _, label, cells in parser.rows[1:]}
    assert table["récupérés (rejoints / ont répondu)"] == ["–"]
    assert table["délai médian avant le premier rappel"] == ["–"]


def test_the_generated_history_compares_its_cases(tmp_path: Path) -> None:
    """Two weeks of the generated dealership with its cases: each department's
    recovered (reached / replied) and median minutes to the first call back in the
    table are those counted straight from the generated calls (called back or called
    again and answered; replied; the call back's delay), and asking for the cases
    leaves the calls exactly as they were."""
    end = date(2026, 11, 29)
    spec = replace(dealership_history(end, days=14, calls_per_day=40.0), cases=True)
    db = sqlite3.connect(tmp_path / "with.db", isolation_level=None)
    facts = write_history(db, spec)
    plain = sqlite3.connect(tmp_path / "without.db", isolation_level=None)
    write_history(plain, replace(spec, cases=False))
    columns = [r[1] for r in db.execute("PRAGMA table_info(calls)") if r[1] != "change_seq"]
    calls = f"SELECT {', '.join(columns)} FROM calls ORDER BY id"  # the feed's order aside
    assert db.execute(calls).fetchall() == plain.execute(calls).fetchall()
    assert plain.execute("SELECT COUNT(*) FROM cases").fetchone()[0] == 0
    assert facts.cases == db.execute("SELECT COUNT(*) FROM cases").fetchone()[0] > 50
    report = build_report(
        db,
        site="Garage",
        timezone="America/Toronto",
        since=spec.first,
        until=end,
        context=ReportContext(language="en"),
    )
    parser = _Compare()
    parser.feed(render(report, "html"))
    header, *rows = parser.rows
    table = {label: cells for _, label, cells in rows}
    for column, department in enumerate(header[2]):
        where = "" if department == "Site" else f"AND department = '{department.lower()}'"
        reached, replied = db.execute(
            "SELECT SUM(recovered_by IN ('callback', 'answered_again')), "
            f"SUM(recovered_by = 'reply') FROM calls WHERE decision = 'notify' {where}"
        ).fetchone()
        delays = [
            (datetime.fromisoformat(back) - datetime.fromisoformat(ended)).total_seconds() / 60
            for ended, back in db.execute(
                "SELECT ended_at, recovered_at FROM calls WHERE decision = 'notify' "
                f"AND recovered_by = 'callback' {where}"
            )
        ]
        recovered = table["recovered (reached / replied)"][column]
        assert recovered == f"{reached + replied} ({reached} / {replied})", department
        first = table["median time to the first call back"][column]
        assert first == f"{statistics.median(delays):.0f} min", department
