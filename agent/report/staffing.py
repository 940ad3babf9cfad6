"""Staffing advice from the dealership's own calls: per department, weekday and hour,
how many people it takes to answer the target share of calls within the target wait,
beside how many actually answered, and the calls one more person would have saved.

Measured over the last `weeks` weeks of open hours (closed hours are left out):
- arrivals: inbound calls counted for the rate (answered + missed; short abandons and
  unknown outcomes are not), per week;
- handle time: mean talk seconds of the answered calls (`DEFAULT_HANDLE_SECONDS` when
  none was answered in that hour);
- patience: callers who hung up while it rang or in the queue (`missed`,
  `abandoned_queue`) divided into the seconds every caller waited (rang + queued),
  the usual estimate for exponential patience; with at least `MIN_ABANDONS` of them
  the queue is Erlang A (`agent.report.erlang`), else Erlang C;
- people answering: distinct extensions that answered in that hour, averaged over
  the weeks the hour had calls.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from agent.config.report import StaffingTargets
from agent.report.erlang import Queue, abandon_share, people_needed, service_level

DEFAULT_HANDLE_SECONDS = 180.0
MIN_ABANDONS = 5
ABANDONS = ("missed", "abandoned_queue")
LEFT_OUT = ("short_abandon", "unknown")
Weekly = dict[int, list[tuple[time, time]]] | None


@dataclass(slots=True)
class _Tally:
    calls: int = 0
    answered: int = 0
    talk_seconds: float = 0.0
    abandons: int = 0
    wait_seconds: float = 0.0
    people: dict[date, set[str]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Advice:
    """One department-hour (weekday 0 = Monday, local hour)."""

    department: str
    weekday: int
    hour: int
    calls_per_week: float
    handle_seconds: float
    patience_seconds: float | None
    needed: int
    answering: float
    service_level: float  # with the people who answered, by the model
    saved_per_week: float | None  # calls one more person would have saved (Erlang A only)

    @property
    def model(self) -> str:
        return "erlang_a" if self.patience_seconds is not None else "erlang_c"

    @property
    def short(self) -> bool:
        """Fewer people answered than the target needs."""
        return self.needed > round(self.answering)


def is_open(weekly: Weekly, weekday: int, hour: int) -> bool:
    """Whether any opening range of `weekday` overlaps the hour starting at `hour`."""
    if weekly is None:
        return True
    begin, end = time(hour), time(hour + 1) if hour < 23 else time(23, 59, 59)
    return any(start < end and finish > begin for start, finish in weekly.get(weekday, []))


def staffing_advice(
    conn: sqlite3.Connection,
    tz: ZoneInfo,
    until: date,
    hours: Mapping[str, Weekly],
    targets: StaffingTargets,
    department: str | None = None,
) -> list[Advice]:
    """The advice for every open department-hour that had calls in the `targets.weeks`
    weeks ending with `until` (local dates, `until` included)."""
    start = datetime.combine(
        until - timedelta(weeks=targets.weeks) + timedelta(days=1), time(0), tz
    )
    end = datetime.combine(until + timedelta(days=1), time(0), tz)
    tallies: dict[tuple[str, int, int], _Tally] = defaultdict(_Tally)
    rows = conn.execute(
        "SELECT department, started_at, outcome, talk_seconds, ring_seconds + queue_seconds, "
        "answered_by FROM calls WHERE direction = 'inbound' AND started_at >= ? "
        "AND started_at < ? AND outcome NOT IN (?, ?)"
        + (" AND department = ?" if department else ""),
        (
            start.astimezone(ZoneInfo("UTC")).isoformat(),
            end.astimezone(ZoneInfo("UTC")).isoformat(),
            *LEFT_OUT,
        )
        + ((department,) if department else ()),
    )
    for dep, started, outcome, talk, waited, answered_by in rows:
        name = dep or "main"
        local = datetime.fromisoformat(started).astimezone(tz)
        if not is_open(hours.get(name), local.weekday(), local.hour):
            continue
        tally = tallies[(name, local.weekday(), local.hour)]
        tally.calls += 1
        tally.wait_seconds += float(waited or 0.0)
        if outcome == "answered":
            tally.answered += 1
            tally.talk_seconds += float(talk or 0.0)
            if answered_by:
                tally.people.setdefault(local.date(), set()).add(str(answered_by))
        elif outcome in ABANDONS:
            tally.abandons += 1
    return [_advise(key, tally, targets) for key, tally in sorted(tallies.items()) if tally.calls]


def _advise(key: tuple[str, int, int], tally: _Tally, targets: StaffingTargets) -> Advice:
    name, weekday, hour = key
    handle = tally.talk_seconds / tally.answered if tally.answered else DEFAULT_HANDLE_SECONDS
    handle = max(handle, 1.0)
    patience = None
    if tally.abandons >= MIN_ABANDONS and tally.wait_seconds > 0:
        patience = tally.wait_seconds / tally.abandons
    per_week = tally.calls / targets.weeks
    queue = Queue(calls_per_hour=per_week, handle_seconds=handle, patience_seconds=patience)
    answering = (
        sum(len(p) for p in tally.people.values()) / len(tally.people) if tally.people else 0.0
    )
    people = round(answering)
    saved = None
    if patience is not None:
        saved = per_week * (abandon_share(queue, people) - abandon_share(queue, people + 1))
    return Advice(
        department=name,
        weekday=weekday,
        hour=hour,
        calls_per_week=round(per_week, 2),
        handle_seconds=round(handle, 1),
        patience_seconds=round(patience, 1) if patience is not None else None,
        needed=people_needed(queue, targets.target_share, targets.target_seconds),
        answering=round(answering, 1),
        service_level=round(service_level(queue, people, targets.target_seconds), 3),
        saved_per_week=round(saved, 2) if saved is not None else None,
    )
