"""What the desk shows of the recovery cases: the board (the open cases of a user's
departments, most urgent first: past their SLA, then due soonest) and one case with
everything it gathered (its missed calls, the conversation with the caller in order:
our texts with who wrote each and how far it got, the caller's replies; attempts and
the timeline of who did what).

The caller's number is shown whole (the desk is for the people who call back);
everything from the store is escaped by the templates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from agent.config.desk import DeskUser
from agent.config.settings import Settings
from agent.desk.timeline import actor_words, line_words
from agent.desk.words import TEXT, word
from agent.report.words import SHORT_WEEKDAYS, outcome_words
from agent.status.view import StatusView
from agent.store import Store, parse_ts, ts

MOST = 300


@dataclass(frozen=True, slots=True)
class Row:
    id: int
    caller: str
    name: str
    department: str
    label: str
    misses: int
    last_at: datetime
    last_local: str
    ago: str  # since the last miss: "12 min ago", "3 h ago"
    what: str
    text: str
    replies: list[str]
    attempts: int
    owner: str
    due_local: str
    overdue: bool
    withheld: bool
    callback_only: bool = False
    state: str = "open"
    resolution: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _labels(settings: Settings) -> dict[str, str]:
    return {n: d.label or n.capitalize() for n, d in settings.departments.by_name().items()}


def branch_words(settings: Settings, path: str, language: str) -> str:
    """ "2*1" -> "after choosing Service, then 1" (the department whose menu keys
    start the path)."""
    if not path:
        return ""
    labels = _labels(settings)
    best, name = "", ""
    for dep, config in settings.departments.by_name().items():
        for keys in config.ivr_keys:
            if keys and path.startswith(keys) and len(keys) > len(best):
                best, name = keys, dep
    if not best:
        return ("touches " if language == "fr" else "keys ") + path
    text = ("après avoir choisi " if language == "fr" else "after choosing ") + labels[name]
    rest = path[len(best) :]
    return f"{text}, {'puis' if language == 'fr' else 'then'} {rest}" if rest else text


def _word_or(name: str, fallback: str, language: str) -> str:
    """The desk's word for a state, or the state itself for one it has no word for."""
    return word(name, language) if name in TEXT else fallback


def _hm(local: datetime) -> str:
    """14:05 (what `%H:%M` writes, without strftime's cost 600 times a board)."""
    return f"{local.hour:02d}:{local.minute:02d}"


def _when(local: datetime, language: str) -> str:
    return f"{SHORT_WEEKDAYS[language][local.weekday()]} {_hm(local)}"


def _ago(minutes: int, language: str) -> str:
    if minutes < 1:
        return word("just_now", language)
    if minutes < 120:
        return word("minutes_ago", language, n=minutes)
    return word("hours_ago", language, n=minutes // 60)


@dataclass(frozen=True, slots=True)
class _Facts:
    """What the board shows of a case beyond its own row, read for every case at once."""

    last_call: dict[int, tuple[Any, Any, Any]]  # case id -> (name, outcome, IVR path)
    text: dict[tuple[str, str], str]  # (caller, department) -> our last text
    replies: dict[int, list[str]]  # case id -> the caller's replies, oldest first


# The last texts to the board's callers, found through their numbers (messages_to):
# `+state` keeps SQLite off messages_due, whose `state = 'sent'` holds every text the
# store ever sent (a week's 2,000 in the bench, a year's 100,000 at a large site).
TEXTS_SQL = (
    "SELECT to_e164, department, body FROM messages WHERE to_e164 IN ({marks}) "
    "AND +state = 'sent' AND template != 'staff_reply' ORDER BY created_at DESC"
)


def _marks(n: int) -> str:
    return ",".join("?" * n)


async def _facts(store: Store, cases: list[dict[str, Any]]) -> _Facts:
    """Three queries for all of `cases` (not three per case): each case's newest missed
    call, the last text sent to each (caller, department) and the caller's replies."""
    ids = [int(c["id"]) for c in cases]
    callers = sorted({str(c["caller_e164"]) for c in cases if c["caller_e164"]})
    last_call: dict[int, tuple[Any, Any, Any]] = {}
    text: dict[tuple[str, str], str] = {}
    replies: dict[int, list[str]] = {}
    if not ids:
        return _Facts(last_call, text, replies)
    for case_id, name, outcome, path in await store.fetchall(
        "SELECT k.case_id, c.caller_name, c.outcome, c.ivr_path FROM case_calls k "
        f"JOIN calls c ON c.id = k.call_id WHERE k.case_id IN ({_marks(len(ids))}) "
        "ORDER BY c.ended_at DESC",
        ids,
    ):
        last_call.setdefault(int(case_id), (name, outcome, path))
    if callers:
        for to, department, body in await store.fetchall(
            TEXTS_SQL.format(marks=_marks(len(callers))), callers
        ):
            text.setdefault((str(to), str(department)), str(body or ""))
    for case_id, body in await store.fetchall(
        "SELECT a.case_id, r.body FROM case_actions a JOIN replies r ON r.id = a.ref_id "
        f"WHERE a.case_id IN ({_marks(len(ids))}) AND a.action = 'replied' ORDER BY r.id",
        ids,
    ):
        if body:
            replies.setdefault(int(case_id), []).append(str(body))
    return _Facts(last_call, text, replies)


def _row(
    facts: _Facts,
    settings: Settings,
    labels: dict[str, str],
    case: dict[str, Any],
    now: datetime,
    language: str,
) -> Row:
    tz = settings.site.tz
    caller = str(case["caller_e164"] or "")
    case_id = int(case["id"])
    name, outcome, path = facts.last_call.get(case_id, ("", "", ""))
    what = outcome_words(str(outcome or ""), language)
    branch = branch_words(settings, str(path or ""), language) if outcome == "abandoned_ivr" else ""
    if branch:
        what = f"{what} ({branch})"
    text = facts.text.get((caller, str(case["department"])), "") if caller else ""
    at = parse_ts(str(case["last_miss_at"]))
    due = parse_ts(str(case["sla_due_at"])) if case["sla_due_at"] else None
    ago = max(0, int((now - at).total_seconds() // 60))
    return Row(
        id=case_id,
        caller=caller,
        name=str(name or ""),
        department=str(case["department"]),
        label=labels.get(str(case["department"]), str(case["department"])),
        misses=int(case["calls"]),
        last_at=at,
        last_local=_hm(at.astimezone(tz)),
        ago=_ago(ago, language),
        what=what,
        text=text,
        replies=facts.replies.get(case_id, []),
        attempts=int(case["attempts"]),
        owner=str(case["owner"] or ""),
        due_local=_when(due.astimezone(tz), language) if due else "",
        overdue=due is not None and due < now and case["state"] == "open",
        withheld=not caller or not case["callback_possible"],
        callback_only=bool(case.get("callback_only")),
        state=str(case["state"]),
        resolution=str(case["resolution"] or ""),
    )


async def _rows(
    store: Store, settings: Settings, cases: list[dict[str, Any]], now: datetime, language: str
) -> list[Row]:
    facts = await _facts(store, cases)
    labels = _labels(settings)
    return [_row(facts, settings, labels, c, now, language) for c in cases]


async def board_rows(daemon: StatusView, user: DeskUser, language: str) -> list[Row]:
    store = daemon.store
    if store is None:
        return []
    settings = daemon.loaded.settings
    now = daemon.clock()
    cases = [
        c for c in await store.cases(state="open", limit=MOST) if user.sees(str(c["department"]))
    ]
    far = "9999"
    cases.sort(
        key=lambda c: (
            0 if c["sla_due_at"] and str(c["sla_due_at"]) < ts(now) else 1,
            str(c["sla_due_at"] or far),
            str(c["last_miss_at"]),
        )
    )
    return await _rows(store, settings, cases, now, language)


async def case_page(
    daemon: StatusView, user: DeskUser, case_id: int, language: str
) -> tuple[Row, dict[str, list[dict[str, Any]]]] | None:
    """One case the user may see, with its history; None when not theirs or unknown."""
    store = daemon.store
    if store is None:
        return None
    case = await store.case(case_id)
    if case is None or not user.sees(str(case["department"])):
        return None
    settings = daemon.loaded.settings
    history = await store.case_history(case_id)
    history["thread"] = await store.case_thread(case_id)
    tz = settings.site.tz
    for part in history.values():
        for item in part:
            for key in ("at", "ended_at", "received_at", "sent_at"):
                if item.get(key):
                    item[key + "_local"] = (
                        f"{parse_ts(str(item[key])).astimezone(tz):%Y-%m-%d %H:%M}"
                    )
            if "outcome" in item:
                item["outcome_words"] = outcome_words(str(item["outcome"]), language)
            for key in ("state", "delivery"):
                if item.get(key) and "side" in item:
                    item[key + "_words"] = _word_or(f"{key}_{item[key]}", str(item[key]), language)
            if "action" in item:
                item["actor_words"] = actor_words(str(item.get("actor") or ""), language)
                item["line_words"] = line_words(
                    str(item["action"]), str(item.get("detail") or ""), language
                )
    rows = await _rows(store, settings, [case], daemon.clock(), language)
    return rows[0], history
