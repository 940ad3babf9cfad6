"""Read the store once and fill the report's scopes. Memory depends on the period and
the menu, not on the number of calls.

The cost to beat is converting every call's time to the site's zone in Python. So
nothing is done per row in Python: the cursor yields (department, UTC hour, outcome,
after-hours, recovered, IVR path), `collections.Counter` counts those tuples in C, a
chunk of rows at a time, and each distinct tuple is folded into the scopes. Each
distinct UTC hour is converted to local time once; where the site's offset is not
whole hours (St. John's, -3:30) the bucket is a quarter hour.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from agent.report.data import SITE, UNANSWERED_OUTCOMES, Cell, Scope

_LOST = "(" + ",".join(f"'{o}'" for o in UNANSWERED_OUTCOMES) + ")"
CUSTOMER_TEMPLATES = "('open','after_hours')"
# Rows counted per step: the Counter of a step is folded into the scopes and dropped,
# so memory stays bounded however many calls the period holds.
CHUNK_ROWS = 20_000


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
        return "substr(started_at, 1, 13)"
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
    cursor = conn.execute(
        f"SELECT COALESCE(department, ''), {_hour_key(minutes)}, outcome, after_hours, "
        f"recovered_at IS NOT NULL, ivr_path FROM calls WHERE {where}",
        params,
    )
    local_of: dict[str, datetime] = {}
    start_day = since.astimezone(tz).date()
    while rows := cursor.fetchmany(CHUNK_ROWS):
        for (dept, key, outcome, after_hours, recovered, path), n in Counter(rows).items():
            local = local_of.get(key)
            if local is None:
                local = local_of[key] = _local(key, tz)
            for scope in (scopes[SITE], _scope(scopes, dept)):
                _add(scope, local, start_day, outcome, after_hours, recovered, path, n)
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
    if lost and recovered:
        totals.recovered += n
    scope.paths[(path, outcome)] += n
    if counted and not after_hours:  # closed hours are greyed out, not rated
        cell = scope.daily.setdefault(day, Cell())
        heat = scope.heat[local.weekday()][local.hour]
        cell.calls += n
        heat.calls += n
        if lost:
            cell.missed += n
            heat.missed += n


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
