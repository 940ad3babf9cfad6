"""The managers' "today" at the desk: per department, the cases opened today, reached,
still open and lost (closed without reaching the caller), the share handled within
the SLA (of the cases called back or past their due time: one not yet due is not
late), the longest wait among open cases, who reached whom, and the staffing alert
when one fired today."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time

from agent.config.desk import DeskUser
from agent.status.view import StatusView
from agent.store import parse_ts, ts


@dataclass(slots=True)
class Department:
    name: str
    label: str
    opened: int = 0
    reached: int = 0
    open: int = 0
    lost: int = 0
    within_sla: int = 0
    with_sla: int = 0
    longest_minutes: int = 0
    reached_by: list[tuple[str, str]] = field(default_factory=list)  # (extension, caller)
    alert: str = ""

    @property
    def sla_share(self) -> float | None:
        return self.within_sla / self.with_sla if self.with_sla else None


async def today(daemon: StatusView, user: DeskUser) -> list[Department]:
    store = daemon.store
    if store is None:
        return []
    settings = daemon.loaded.settings
    tz = settings.site.tz
    now = daemon.clock()
    start = datetime.combine(now.astimezone(tz).date(), time(0), tz)
    found: dict[str, Department] = {}
    for name, dep in settings.departments.by_name().items():
        if user.sees(name):
            found[name] = Department(name, dep.label or name.capitalize())
    rows = await store.fetchall(
        "SELECT department, state, resolution, opened_at, sla_due_at, first_attempt_at, "
        "reached_at, reached_by, caller_e164 FROM cases WHERE opened_at >= ? OR state = 'open'",
        (ts(start),),
    )
    for dept, state, resolution, opened, due, first, reached, by, caller in rows:
        d = found.get(str(dept))
        if d is None:
            continue
        opened_at = parse_ts(str(opened))
        if opened_at >= start:
            d.opened += 1
        if state == "open":
            d.open += 1
            d.longest_minutes = max(d.longest_minutes, int((now - opened_at).total_seconds() // 60))
        elif resolution in {"reached", "reached_elsewhere"}:
            d.reached += 1
            if by:
                d.reached_by.append((str(by), str(caller or "")))
        else:
            d.lost += 1
        handled = first or reached
        if due and (handled or str(due) <= ts(now)):  # a case not yet due is not late
            d.with_sla += 1
            if handled and str(handled) <= str(due):
                d.within_sla += 1
    alerts = await store.fetchall(
        "SELECT department, body FROM alerts WHERE kind = 'staffing' AND fired_at >= ? "
        "ORDER BY fired_at",
        (ts(start),),
    )
    for dept, body in alerts:
        if str(dept) in found:
            found[str(dept)].alert = str(body)
    return list(found.values())
