"""Whether to text a caller, when, and with which template. Pure: no I/O, no clock.

`decide()` takes the call, the facts the pipeline read from the store and the time,
and returns `Notify`, `Defer(until)` or `Skip(reason)`. Rules, in order (the first
that applies gives the reason):

    direction   outbound / internal calls          -> skip:outbound, skip:internal
    outcome     answered, short_abandon, unknown,
                outcomes not in sms.texted_outcomes -> skip:<outcome>
    number      withheld, unparsable, invalid,
                region not allowed, blocklisted     -> skip:withheld_number, ...
    kind        landline, toll-free, premium, VoIP... -> skip:landline, skip:toll_free, ...
                                                       (agent/decide/textable.py)
    opt-out     the number sent STOP/ARRET          -> skip:opted_out
    facts       a provider said it takes no texts   -> skip:sms_incapable
                (a landline: Twilio 30006...)
    age         ended longer than max_age ago       -> skip:too_old
    dedup       a text to this number in the window -> skip:duplicate
    caps        per-number daily, global hourly     -> skip:number_cap, skip:global_cap
    hours       department closed (hours, holiday)  -> after_hours template, or
                                                       skip:after_hours_no_template
                (a department whose `open` set has no text -> skip:open_no_template)
    timing      hang-up + grace; inside quiet hours -> defer until they end, at the
                (the site's, and the caller's own      site and in every zone of the
                time from the area code)               caller's area code (decide/quiet.py)
    reachable   unreachable for now (30003/30005)   -> defer until it may be again,
                                                       skip:unreachable past max_age

The template chosen here is provisional: the dispatcher chooses it again with
`call_template()` from the department's state when the text actually leaves (a text
deferred past the opening is an `open` text), and withdraws it when the department
has no text for that state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from agent.config.departments import opening_after
from agent.decide.quiet import quiet_end_for
from agent.decide.textable import kind_problem
from agent.model import CallRecord, Decision, Defer, Direction, Notify, Outcome, Skip
from agent.numbers import number_kind

if TYPE_CHECKING:
    from agent.config.settings import Settings

_ALWAYS_SKIPPED = {
    Outcome.ANSWERED: "answered",
    Outcome.SHORT_ABANDON: "short_abandon",
    Outcome.UNKNOWN: "unknown_outcome",
}


@dataclass(frozen=True, slots=True)
class Facts:
    """What the store knows about the caller at decision time."""

    number_e164: str | None
    number_problem: str  # skip reason from normalisation, "" when the number is fine
    region: str | None
    opted_out: bool = False
    texts_in_dedup_window: int = 0
    texts_to_number_today: int = 0
    texts_last_hour: int = 0
    sms_incapable: bool = False
    unreachable_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class Schedule:
    """The department's state at the time of the call."""

    department: str
    language: str
    open_now: bool
    next_opening: datetime | None


def decide(
    record: CallRecord, facts: Facts, schedule: Schedule, settings: Settings, now: datetime
) -> Decision:
    reason = _who_not(record, facts, settings, now)
    if reason:
        return Skip(reason)
    sms = settings.sms
    template, has_text = call_template(schedule, settings)
    if not has_text:
        return Skip(f"{template}_no_template")
    due = max(record.ended_at + timedelta(seconds=sms.grace_seconds), now)
    expires = record.ended_at + timedelta(minutes=sms.max_age_minutes)
    unreachable = facts.unreachable_until is not None and facts.unreachable_until > due
    if facts.unreachable_until is not None and unreachable:
        if facts.unreachable_until >= expires:
            return Skip("unreachable")
        due = facts.unreachable_until
    quiet_end = quiet_end_for(settings, facts.number_e164, due)
    if quiet_end is not None:
        return Defer(
            schedule.department,
            template,
            quiet_end,
            quiet_end + timedelta(minutes=sms.max_age_minutes),
            schedule.language,
        )
    if unreachable:
        return Defer(schedule.department, template, due, expires, schedule.language)
    return Notify(schedule.department, template, due, expires, schedule.language)


CALL_TEMPLATES = frozenset({"open", "after_hours"})


def call_template(schedule: Schedule, settings: Settings) -> tuple[str, bool]:
    """The missed-call template for the department's state (`open` or `after_hours`)
    and whether the department has a text for it."""
    template = "open" if schedule.open_now else "after_hours"
    dep = settings.departments.by_name().get(schedule.department)
    chosen = None
    if dep is not None:
        chosen = dep.templates.open if schedule.open_now else dep.templates.after_hours
    return template, chosen is not None and not chosen.empty


def untexted(record: CallRecord, settings: Settings) -> str:
    """Why the call itself is never texted, whatever the store knows of its number
    (its direction, its outcome); "" when it may be. The pipeline reads no facts for
    such a call: `decide` skips it for this reason before looking at them."""
    if record.direction is not Direction.INBOUND:
        return record.direction.value
    if record.outcome in _ALWAYS_SKIPPED:
        return _ALWAYS_SKIPPED[record.outcome]
    if record.outcome.value not in settings.sms.texted_outcomes:
        return f"outcome_not_texted:{record.outcome.value}"
    return ""


def _who_not(record: CallRecord, facts: Facts, settings: Settings, now: datetime) -> str:
    sms = settings.sms
    reason = untexted(record, settings)
    if reason:
        return reason
    if facts.number_e164 is None:
        return facts.number_problem or "invalid_number"
    refusal = number_refusal(
        facts.number_e164, facts.region, facts.opted_out, settings, facts.sms_incapable
    )
    if refusal:
        return refusal
    if now - record.ended_at > timedelta(minutes=sms.max_age_minutes):
        return "too_old"
    if facts.texts_in_dedup_window:
        return "duplicate"
    if facts.texts_to_number_today >= sms.per_number_daily_cap:
        return "number_cap"
    if facts.texts_last_hour >= sms.global_hourly_cap:
        return "global_cap"
    return ""


def number_refusal(
    e164: str,
    region: str | None,
    opted_out: bool,
    settings: Settings,
    sms_incapable: bool = False,
) -> str:
    """Why a valid number is never texted, whatever the text ("" when it may be):
    its country is not allowed, it is blocklisted, its kind takes no texts (a
    landline, toll-free...), it opted out, a provider said it cannot take texts. The
    missed-call texts and the staff's answers in a case's conversation both ask here."""
    sms = settings.sms
    if region not in sms.allowed_countries:
        return "country_not_allowed"
    if e164 in _blocklist(settings):
        return "blocklisted"
    kind = kind_problem(number_kind(e164), region, sms.voip_texted_countries)
    if kind:
        return kind
    if opted_out:
        return "opted_out"
    if sms_incapable:
        return "sms_incapable"
    return ""


def _blocklist(settings: Settings) -> set[str]:
    from agent.numbers import normalize

    found = set()
    for raw in settings.sms.blocklist:
        e164, _ = normalize(raw, settings.site.country)
        found.add(e164 or raw)
    return found


def schedule_for(
    department: str,
    settings: Settings,
    local: datetime,
    holidays: set[str],
    dialed: str | None = None,
) -> Schedule:
    dep = settings.departments.by_name().get(department)
    weekly = dep.weekly() if dep else None
    open_now, next_opening = opening_after(weekly, local, holidays)
    language = settings.departments.language_of(department, dialed)
    return Schedule(department, language, open_now, next_opening)
