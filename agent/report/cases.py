"""What the recovery cases of a period came to, per department and for the site:
recovered (reached, or replied) against lost, by weekday x hour of the first miss;
median and p90 minutes to the first attempt and to reached; the share of cases
called back within their SLA; attempts per case; and per extension, how many calls
back it made and how many callers it reached.

Read-only on the report's connection, one query over the cases opened in the
period (site-local `since`..`until`). A case is `reached` when a call proved it or
staff closed it `reached_elsewhere`; `replied` when the caller answered the text
and was not reached; `lost` when it closed otherwise (expired, no answer, wrong
number...); `open` while nothing settled it. A store without cases (written by an
older ringback) has no figures.
"""

from __future__ import annotations

import math
import sqlite3
import statistics
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from agent.report.data import SITE
from agent.store.base import ts as _ts

REACHED = ("reached", "reached_elsewhere")


@dataclass(slots=True)
class CaseFigures:
    cases: int = 0
    reached: int = 0
    replied: int = 0
    lost: int = 0
    open: int = 0
    attempts: int = 0
    sla_counted: int = 0
    sla_met: int = 0
    to_first_attempt: list[float] = field(default_factory=list)
    to_reached: list[float] = field(default_factory=list)
    by_hour: dict[tuple[int, int], list[int]] = field(default_factory=dict)
    extensions: dict[str, list[int]] = field(default_factory=dict)

    @property
    def recovered(self) -> int:
        return self.reached + self.replied

    @property
    def sla_met_share(self) -> float | None:
        return self.sla_met / self.sla_counted if self.sla_counted else None

    @property
    def attempts_per_case(self) -> float | None:
        return self.attempts / self.cases if self.cases else None

    def json(self) -> dict[str, Any]:
        return {
            "cases": self.cases,
            "recovered": self.recovered,
            "reached": self.reached,
            "replied": self.replied,
            "lost": self.lost,
            "open": self.open,
            "median_minutes_to_first_attempt": median_or_none(self.to_first_attempt),
            "p90_minutes_to_first_attempt": p90(self.to_first_attempt),
            "median_minutes_to_reached": median_or_none(self.to_reached),
            "p90_minutes_to_reached": p90(self.to_reached),
            "sla_met_share": self.sla_met_share,
            "sla_counted": self.sla_counted,
            "attempts_per_case": self.attempts_per_case,
            "by_weekday_hour": [
                {"weekday": day, "hour": hour, "recovered": n[0], "lost": n[1]}
                for (day, hour), n in sorted(self.by_hour.items())
            ],
            "extensions": [
                {"extension": ext, "attempts": n[0], "reached": n[1]}
                for ext, n in sorted(self.extensions.items(), key=lambda e: (-e[1][1], e[0]))
            ],
        }


def p90(values: list[float]) -> float | None:
    """Nearest-rank 90th percentile."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def median_or_none(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _minutes(later: str | None, earlier: str) -> float | None:
    if later is None:
        return None
    delta = datetime.fromisoformat(later) - datetime.fromisoformat(earlier)
    return max(0.0, delta.total_seconds() / 60)


_CASES = (
    "SELECT id, department, state, resolution, opened_at, first_attempt_at, reached_at, "
    "replied_at, sla_due_at, attempts FROM cases WHERE opened_at >= ? AND opened_at < ?"
)
_EXTENSIONS = (
    "SELECT c.department, a.extension, COUNT(*), SUM(a.result = 'reached') FROM case_attempts a "
    "JOIN cases c ON c.id = a.case_id WHERE c.opened_at >= ? AND c.opened_at < ? "
    "AND a.extension IS NOT NULL GROUP BY 1, 2"
)


def case_figures(
    conn: sqlite3.Connection,
    tz: ZoneInfo,
    since: datetime,
    until: datetime,
    department: str | None,
    now: datetime,
) -> dict[str, CaseFigures]:
    """Figures by department name and for `SITE`; {} for a store without cases."""
    try:
        rows = conn.execute(_CASES, (_ts(since), _ts(until))).fetchall()
        extension_rows = conn.execute(_EXTENSIONS, (_ts(since), _ts(until))).fetchall()
    except sqlite3.OperationalError:
        return {}
    out: dict[str, CaseFigures] = {}
    for row in rows:
        if department is not None and row[1] != department:
            continue
        for name in (SITE, str(row[1])):
            _add(out.setdefault(name, CaseFigures()), row, tz, now)
    for dept, ext, attempts, reached in extension_rows:
        if department is not None and dept != department:
            continue
        for name in (SITE, str(dept)):
            counts = out.setdefault(name, CaseFigures()).extensions.setdefault(str(ext), [0, 0])
            counts[0] += int(attempts)
            counts[1] += int(reached or 0)
    return out


def _add(fig: CaseFigures, row: tuple[Any, ...], tz: ZoneInfo, now: datetime) -> None:
    _, _, state, resolution, opened, first, reached, replied, due, attempts = row
    fig.cases += 1
    fig.attempts += int(attempts)
    if resolution in REACHED:
        fig.reached += 1
        kind = 0
    elif replied is not None:
        fig.replied += 1
        kind = 0
    elif state == "closed":
        fig.lost += 1
        kind = 1
    else:
        fig.open += 1
        kind = -1
    if kind >= 0:
        local = datetime.fromisoformat(opened).astimezone(tz)
        fig.by_hour.setdefault((local.weekday(), local.hour), [0, 0])[kind] += 1
    for bucket, later in ((fig.to_first_attempt, first), (fig.to_reached, reached)):
        minutes = _minutes(later, opened)
        if minutes is not None:
            bucket.append(minutes)
    if due is not None and (first is not None or due <= _ts(now)):
        fig.sla_counted += 1
        fig.sla_met += int(first is not None and first <= due)
