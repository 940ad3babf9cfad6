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
from agent.desk.words import TEXT, word
from agent.report.words import SHORT_WEEKDAYS, outcome_words
from agent.status.view import StatusView
from agent.store import Store, parse_ts, ts

MOST = 300
ACTIONS = {
    "opened": {"fr": "a ouvert le dossier", "en": "opened the case"},
    "joined": {"fr": "nouvel appel manqué", "en": "another missed call"},
    "claimed": {"fr": "s'en occupe", "en": "took it"},
    "note": {"fr": "a noté", "en": "noted"},
    "attempt": {"fr": "rappel", "en": "callback"},
    "reached": {"fr": "a joint le client", "en": "reached the caller"},
    "replied": {"fr": "le client a répondu", "en": "the caller replied"},
    "texted": {"fr": "a écrit", "en": "texted"},
    "call": {"fr": "a lancé un appel", "en": "placed a call"},
    "closed": {"fr": "a fermé", "en": "closed"},
    "reopened": {"fr": "a rouvert", "en": "reopened"},
    "escalated": {"fr": "retard signalé au gestionnaire", "en": "escalated to the manager"},
    "expired": {"fr": "expiré", "en": "expired"},
}


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
    ago_minutes: int
    what: str
    text: str
    replies: list[str]
    attempts: int
    owner: str
    due_local: str
    overdue: bool
    withheld: bool
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


def _when(local: datetime, language: str) -> str:
    return f"{SHORT_WEEKDAYS[language][local.weekday()]} {local:%H:%M}"


async def _row(
    store: Store, settings: Settings, case: dict[str, Any], now: datetime, language: str
) -> Row:
    tz = settings.site.tz
    caller = str(case["caller_e164"] or "")
    last = await store.fetchone(
        "SELECT c.caller_name, c.outcome, c.ivr_path FROM case_calls k JOIN calls c "
        "ON c.id = k.call_id WHERE k.case_id = ? ORDER BY c.ended_at DESC LIMIT 1",
        (case["id"],),
    )
    name, outcome, path = last or ("", "", "")
    what = outcome_words(str(outcome or ""), language)
    branch = branch_words(settings, str(path or ""), language)
    if branch and outcome == "abandoned_ivr":
        what = f"{what} ({branch})"
    text = (
        await store.scalar(
            "SELECT body FROM messages WHERE to_e164 = ? AND department = ? AND state = 'sent' "
            "AND template != 'staff_reply' ORDER BY created_at DESC LIMIT 1",
            (caller, case["department"]),
        )
        if caller
        else None
    )
    replies = await store.fetchall(
        "SELECT r.body FROM case_actions a JOIN replies r ON r.id = a.ref_id "
        "WHERE a.case_id = ? AND a.action = 'replied' ORDER BY r.id",
        (case["id"],),
    )
    at = parse_ts(str(case["last_miss_at"]))
    due = parse_ts(str(case["sla_due_at"])) if case["sla_due_at"] else None
    return Row(
        id=int(case["id"]),
        caller=caller,
        name=str(name or ""),
        department=str(case["department"]),
        label=_labels(settings).get(str(case["department"]), str(case["department"])),
        misses=int(case["calls"]),
        last_at=at,
        last_local=f"{at.astimezone(tz):%H:%M}",
        ago_minutes=max(0, int((now - at).total_seconds() // 60)),
        what=what,
        text=str(text or ""),
        replies=[str(r[0]) for r in replies if r[0]],
        attempts=int(case["attempts"]),
        owner=str(case["owner"] or ""),
        due_local=_when(due.astimezone(tz), language) if due else "",
        overdue=due is not None and due < now and case["state"] == "open",
        withheld=not caller or not case["callback_possible"],
        state=str(case["state"]),
        resolution=str(case["resolution"] or ""),
    )


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
    return [await _row(store, settings, c, now, language) for c in cases]


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
                item["action_words"] = ACTIONS.get(str(item["action"]), {}).get(
                    language, str(item["action"])
                )
    return await _row(store, settings, case, daemon.clock(), language), history
