"""Read the store once and fill the report's scopes. Memory depends on the period and
the menu, not on the number of calls.

The cost to beat is bringing every call into Python. So no row is: SQLite groups
the calls by (UTC hour, department, outcome, after-hours, IVR path), counting them
and their recovered ones, reading the covering index `calls_report` in its order
(no sort, no table row touched), and each group is folded into its department's
scope; the site's scope is the sum of the departments'. Each distinct UTC hour is
converted to local time once; where the site's offset is not whole hours (St.
John's, -3:30) the bucket is a quarter hour (the same grouping, sorted by SQLite).
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from agent.report.data import SITE, UNANSWERED_OUTCOMES, Cell, Scope

_LOST = "(" + ",".join(f"'{o}'" for o in UNANSWERED_OUTCOMES) + ")"
CUSTOMER_TEMPLATES = "('open','after_hours')"
# Groups fetched per step: each step is folded into the scopes and dropped, so memory
# stays bounded however many calls (and groups) the period holds.
CHUNK_ROWS = 2_000


def _bucket_minutes(tz: ZoneInfo, since: datetime, until: datetime) -> int:
    """60 when every UTC offset in the period is whole hours, else 15."""
    moment = since
    while moment <= until + timedelta(days=31):
        offset = moment.astimezone(tz).utcoffset() or timedelta(0)
        if offset.total_seconds() % 3600:
            return 15
        moment += timedelta(days=28)
    return 60


def _hour_key(minutes: int) -> str:
    if minutes == 60:
        return "substr(started_at, 1, 13)"  # as in the index calls_report (migration 9)
    return (
        "substr(started_at, 1, 14) || "
        "printf('%02d', CAST(substr(started_at, 15, 2) AS INTEGER) / 15 * 15)"
    )


def _local(key: str, tz: ZoneInfo) -> datetime:
    text = key + ":00" if len(key) == 13 else key
    return datetime.fromisoformat(text + ":00+00:00").astimezone(tz)


def scan(
    conn: sqlite3.Connection,
    tz: ZoneInfo,
    since: datetime,
    until: datetime,
    before_since: datetime,
    department: str | None,
) -> dict[str, Scope]:
    """Fill one scope per department and the site's. Calls from `before_since` to
    `since` count only for the year-before columns."""
    scopes: dict[str, Scope] = {SITE: Scope(SITE)}
    minutes = _bucket_minutes(tz, before_since, until)
    where = "direction = 'inbound' AND started_at >= ? AND started_at < ?"
    params: list[object] = [_ts(before_since), _ts(until)]
    if department is not None:
        where += " AND department = ?"
        params.append(department)
    key = _hour_key(minutes)
    cursor = conn.execute(
        f"SELECT {key}, COALESCE(department, ''), outcome, after_hours, ivr_path, "
        f"COUNT(*), COUNT(recovered_at) FROM calls WHERE {where} "
        f"GROUP BY {key}, department, outcome, after_hours, ivr_path",
        params,
    )
    local_of: dict[str, datetime] = {}
    start_day = since.astimezone(tz).date()
    while groups := cursor.fetchmany(CHUNK_ROWS):
        for hour, dept, outcome, after_hours, path, n, recovered in groups:
            local = local_of.get(hour)
            if local is None:
                local = local_of[hour] = _local(hour, tz)
            _add(_scope(scopes, dept), local, start_day, outcome, after_hours, recovered, path, n)
    for name, scope in scopes.items():
        if name != SITE:
            _fold(scopes[SITE], scope)
    _recovery(conn, scopes, where, [_ts(since), _ts(until), *params[2:]])
    _texts(conn, scopes, since, until, department)
    return scopes


def _scope(scopes: dict[str, Scope], name: str) -> Scope:
    found = scopes.get(name or "-")
    if found is None:
        found = scopes[name or "-"] = Scope(name or "-")
    return found


def _add(
    scope: Scope,
    local: datetime,
    start_day: date,
    outcome: str,
    after_hours: int,
    recovered: int,
    path: str,
    n: int,
) -> None:
    """`n` calls of one group, `recovered` of them recovered."""
    day = local.date()
    lost = outcome in UNANSWERED_OUTCOMES
    counted = lost or outcome == "answered"
    if day < start_day:
        if counted:
            cell = scope.before.setdefault(day, Cell())
            cell.calls += n
            cell.missed += n if lost else 0
        return
    totals = scope.totals
    totals.outcomes[outcome] += n
    if after_hours:
        totals.after_hours += n
        totals.after_hours_missed += n if lost else 0
        totals.after_hours_answered += n if outcome == "answered" else 0
    if lost:
        totals.recovered += recovered
    scope.paths[(path, outcome)] += n
    if counted and not after_hours:  # closed hours are greyed out, not rated
        cell = scope.daily.setdefault(day, Cell())
        heat = scope.heat[local.weekday()][local.hour]
        cell.calls += n
        heat.calls += n
        if lost:
            cell.missed += n
            heat.missed += n


def _fold(site: Scope, part: Scope) -> None:
    """Add what `_add` counted in a department's scope to the site's."""
    into, totals = site.totals, part.totals
    into.outcomes.update(totals.outcomes)
    into.after_hours += totals.after_hours
    into.after_hours_missed += totals.after_hours_missed
    into.after_hours_answered += totals.after_hours_answered
    into.recovered += totals.recovered
    site.paths.update(part.paths)
    for days, site_days in ((part.daily, site.daily), (part.before, site.before)):
        for day, cell in days.items():
            found = site_days.setdefault(day, Cell())
            found.calls += cell.calls
            found.missed += cell.missed
    for site_row, row in zip(site.heat, part.heat, strict=True):
        for site_cell, cell in zip(site_row, row, strict=True):
            site_cell.calls += cell.calls
            site_cell.missed += cell.missed


def _recovery(
    conn: sqlite3.Connection, scopes: dict[str, Scope], where: str, params: list[object]
) -> None:
    rows = conn.execute(
        "SELECT COALESCE(department, ''), MAX(0, CAST(ROUND((julianday(recovered_at) - "
        "julianday(ended_at)) * 1440) AS INTEGER)) FROM calls "
        f"WHERE {where} AND recovered_at IS NOT NULL AND outcome IN {_LOST}",
        params,
    )
    for (dept, minutes), n in Counter(rows).items():
        for scope in (scopes[SITE], _scope(scopes, dept)):
            scope.totals.recovery_minutes[minutes] += n


def _texts(
    conn: sqlite3.Connection,
    scopes: dict[str, Scope],
    since: datetime,
    until: datetime,
    department: str | None,
) -> None:
    """Texts to callers sent in the period, and replies, each credited to the
    department of the last text the number received before replying."""
    sent = conn.execute(
        "SELECT department, COUNT(*) FROM messages WHERE state = 'sent' AND "
        f"template IN {CUSTOMER_TEMPLATES} AND created_at >= ? AND created_at < ? "
        "GROUP BY department",
        (_ts(since), _ts(until)),
    ).fetchall()
    replies = conn.execute(
        "SELECT (SELECT m.department FROM messages m WHERE m.to_e164 = r.from_e164 AND "
        f"m.created_at <= r.received_at AND m.template IN {CUSTOMER_TEMPLATES} "
        "ORDER BY m.created_at DESC LIMIT 1) AS dept, COUNT(*) FROM replies r "
        "WHERE r.kind = 'reply' AND r.received_at >= ? AND r.received_at < ? GROUP BY dept",
        (_ts(since), _ts(until)),
    ).fetchall()
    for rows, attr in ((sent, "texts_sent"), (replies, "replies")):
        for dept, n in rows:
            if department is not None and dept != department:
                continue
            targets = [scopes[SITE]] + ([_scope(scopes, dept)] if dept else [])
            for scope in targets:
                setattr(scope.totals, attr, getattr(scope.totals, attr) + n)


def _ts(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")
