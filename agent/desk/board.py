"""The board's rows: whom to call back now, for one desk user.

Each row is a caller and a department with the calls they missed that nobody has
answered since (no recovery), in the user's departments, most recent first, with
what happened in words, the text we sent and the caller's replies. The caller's
number is shown whole (the desk is for the people who call back); everything from
the store is escaped by the templates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from agent.config.desk import DeskUser
from agent.report.words import outcome_words
from agent.status.view import StatusView
from agent.store import parse_ts, ts

LOOKBACK = timedelta(days=7)
MOST = 200


@dataclass(frozen=True, slots=True)
class Row:
    caller: str
    name: str
    department: str
    label: str
    misses: int
    last_at: datetime
    last_local: str
    ago_minutes: int
    what: str
    text: str
    replies: list[str]
    withheld: bool


async def board_rows(daemon: StatusView, user: DeskUser, language: str) -> list[Row]:
    store = daemon.store
    if store is None:
        return []
    settings = daemon.loaded.settings
    now = daemon.clock()
    labels = {
        name: dep.label or name.capitalize() for name, dep in settings.departments.by_name().items()
    }
    rows = await store.fetchall(
        "SELECT COALESCE(caller_e164, ''), MAX(caller_name), department, COUNT(*), "
        "MAX(ended_at), (SELECT outcome FROM calls c2 WHERE c2.caller_e164 IS c.caller_e164 "
        "AND c2.department IS c.department AND c2.decision IS NOT NULL "
        "ORDER BY c2.ended_at DESC LIMIT 1) "
        "FROM calls c WHERE direction = 'inbound' AND ended_at >= ? AND recovered_at IS NULL "
        "AND decision IS NOT NULL AND outcome NOT IN ('answered', 'short_abandon', 'unknown') "
        "AND anonymised_at IS NULL GROUP BY caller_e164, department "
        "ORDER BY MAX(ended_at) DESC LIMIT ?",
        (ts(now - LOOKBACK), MOST),
    )
    out = []
    tz = settings.site.tz
    for caller, name, department, misses, last, outcome in rows:
        dep = str(department or settings.departments.default)
        if not user.sees(dep):
            continue
        texts = (
            await store.fetchall(
                "SELECT body FROM messages WHERE to_e164 = ? AND department IS ? "
                "AND state = 'sent' ORDER BY created_at DESC LIMIT 1",
                (caller, department),
            )
            if caller
            else []
        )
        replies = (
            await store.fetchall(
                "SELECT body FROM replies WHERE from_e164 = ? AND received_at >= ? "
                "ORDER BY received_at",
                (caller, ts(now - LOOKBACK)),
            )
            if caller
            else []
        )
        at = parse_ts(str(last))
        out.append(
            Row(
                caller=str(caller),
                name=str(name or ""),
                department=dep,
                label=labels.get(dep, dep),
                misses=int(misses),
                last_at=at,
                last_local=f"{at.astimezone(tz):%H:%M}",
                ago_minutes=max(0, int((now - at).total_seconds() // 60)),
                what=outcome_words(str(outcome), language),
                text=str(texts[0][0]) if texts and texts[0][0] else "",
                replies=[str(r[0]) for r in replies if r[0]],
                withheld=not caller,
            )
        )
    return out
