"""The report counted by SQLite's grouping (over the covering index `calls_report`)
is the report counted row by row: every figure of the JSON, text and CSV the same
as with the reference below (the scan this release replaced, one Python tuple per
call), on a generated two-year history, for the site and a department, in a zone
of whole hours and one of half hours (St. John's: quarter-hour buckets), with the
index and without it (a store the daemon has not migrated yet)."""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from agent.report import build, query
from agent.report.data import SITE, Scope
from agent.report.demo import history_context
from agent.report.history import dealership_history, write_history_file
from agent.report.render import render_csv, render_text, report_dict

END = date(2026, 11, 29)
SINCE = END - timedelta(days=363)


def reference_scan(
    conn: sqlite3.Connection,
    tz: ZoneInfo,
    since: datetime,
    until: datetime,
    before_since: datetime,
    department: str | None,
) -> dict[str, Scope]:
    """Row by row: each call's (department, hour, outcome, after-hours, recovered,
    IVR path) counted in Python and added to the site and to its department."""
    scopes: dict[str, Scope] = {SITE: Scope(SITE)}
    minutes = query._bucket_minutes(tz, before_since, until)
    where = "direction = 'inbound' AND started_at >= ? AND started_at < ?"
    params: list[object] = [query._ts(before_since), query._ts(until)]
    if department is not None:
        where += " AND department = ?"
        params.append(department)
    rows = conn.execute(
        f"SELECT COALESCE(department, ''), {query._hour_key(minutes)}, outcome, after_hours, "
        f"recovered_at IS NOT NULL, ivr_path FROM calls WHERE {where}",
        params,
    )
    start_day = since.astimezone(tz).date()
    for (dept, key, outcome, after_hours, recovered, path), n in Counter(rows).items():
        local = query._local(key, tz)
        for scope in (scopes[SITE], query._scope(scopes, dept)):
            query._add(scope, local, start_day, outcome, after_hours, n if recovered else 0,
                       path, n)  # fmt: skip
    query._recovery(conn, scopes, where, [query._ts(since), query._ts(until), *params[2:]])
    query._texts(conn, scopes, since, until, department)
    return scopes


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sqlite3.Connection]:
    path = tmp_path_factory.mktemp("same") / "ringback.db"
    write_history_file(str(path), dealership_history(END, days=728, calls_per_day=30.0, seed=5))
    conn = sqlite3.connect(path)
    yield conn
    conn.close()


def _outputs(conn: sqlite3.Connection, timezone: str, department: str | None) -> list[object]:
    report = build.build_report(
        conn, site="Garage", timezone=timezone, since=SINCE, until=END,
        department=department, now=datetime(2026, 11, 30, 12, tzinfo=ZoneInfo(timezone)),
        context=history_context(SINCE, END, "en"),
    )  # fmt: skip
    figures = report_dict(report)
    figures.pop("queries")  # the SQL itself is what changed
    return [figures, render_text(report), render_csv(report)]


@pytest.mark.parametrize("timezone", ["America/Toronto", "America/St_Johns"])
@pytest.mark.parametrize("department", [None, "parts"])
def test_grouped_report_is_the_row_by_row_report(
    store: sqlite3.Connection,
    timezone: str,
    department: str | None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Pins: the same figures, to the last call, as counting every row in Python."""
    grouped = _outputs(store, timezone, department)
    plan = " ".join(r[3] for r in store.execute(
        "EXPLAIN QUERY PLAN SELECT substr(started_at, 1, 13), COUNT(*) FROM calls "
        "WHERE direction = 'inbound' GROUP BY substr(started_at, 1, 13), department, "
        "outcome, after_hours, ivr_path"))  # fmt: skip
    assert "COVERING INDEX calls_report" in plan and "TEMP B-TREE" not in plan
    monkeypatch.setattr(build, "scan", reference_scan)
    reference = _outputs(store, timezone, department)
    assert grouped[0]["sections"][0]["totals"]["inbound_calls"] > 500  # type: ignore[index]
    assert grouped == reference


def test_same_report_without_the_index(store: sqlite3.Connection) -> None:
    """Pins: a store without `calls_report` (not yet migrated) gives the same report,
    sorted by SQLite instead of read in index order."""
    with_index = _outputs(store, "America/Toronto", None)
    store.execute("SAVEPOINT x")
    store.execute("DROP INDEX calls_report")
    try:
        assert _outputs(store, "America/Toronto", None) == with_index
    finally:
        store.execute("ROLLBACK TO x")
        store.execute("RELEASE x")
