"""Rendering a department's template into the text a caller receives.

Placeholders: {site} {department} {booking_url} {callback_number} {opens_at}. The
caller's name never goes into a text (caller-ID names can hold anything).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from agent.config.departments import DEFAULT_TEMPLATES, TemplateSet

if TYPE_CHECKING:
    from agent.config.settings import Settings

HELP_TEXT = {
    "fr": "{site} : textos automatiques après un appel manqué. Répondez ARRET pour ne plus "
    "en recevoir. Pour nous joindre : {callback_number}.",
    "en": "{site}: automatic texts after a missed call. Reply STOP to opt out. "
    "To reach us: {callback_number}.",
}

STOP_CONFIRM_TEXT = {
    "fr": "{site} : c'est noté, vous ne recevrez plus de textos de notre part. "
    "Répondez DEBUT pour les réactiver.",
    "en": "{site}: done, you will get no more texts from us. Reply START to resume.",
}

# Texts that answer the caller's own message (HELP, the STOP confirmation): never
# withheld for an opt-out or quiet hours, never counted against the caller's caps.
SERVICE_TEMPLATES = frozenset({"help", "stop_confirm"})

_DAYS = {
    "fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}


def format_opening(moment: datetime | None, language: str, now_local: datetime) -> str:
    """When the department opens again, to follow "we will call you back":
    `demain à 8 h`, `lundi à 8 h 30`, `lundi prochain à 9 h`, `dès que possible` /
    `tomorrow at 8:00 AM`, `next Monday at 9:00 AM`, `as soon as we can`; site time."""
    if moment is None:
        return "dès que possible" if language == "fr" else "as soon as we can"
    days = (moment.date() - now_local.date()).days
    weekday = moment.weekday()
    if language == "fr":
        clock = f"{moment.hour} h" + (f" {moment.minute:02d}" if moment.minute else "")
        day = {0: "aujourd'hui", 1: "demain"}.get(days, _DAYS["fr"][weekday])
        return f"{day}{' prochain' if days >= 7 else ''} à {clock}"
    hour12 = moment.hour % 12 or 12
    clock = f"{hour12}:{moment.minute:02d} {'AM' if moment.hour < 12 else 'PM'}"
    day = {0: "today", 1: "tomorrow"}.get(days, _DAYS["en"][weekday])
    return f"{'next ' if days >= 7 else ''}{day} at {clock}"


def template_text(settings: Settings, department: str, template: str, language: str) -> str:
    if template == "help":
        return HELP_TEXT.get(language, HELP_TEXT["fr"])
    if template == "stop_confirm":
        return STOP_CONFIRM_TEXT.get(language, STOP_CONFIRM_TEXT["fr"])
    dep = settings.departments.by_name().get(department)
    chosen: TemplateSet | None = None
    if dep is not None:
        chosen = dep.templates.open if template == "open" else dep.templates.after_hours
    if chosen is None:
        chosen = TemplateSet(**DEFAULT_TEMPLATES.get(template, DEFAULT_TEMPLATES["open"]))
    return chosen.pick(language) or ""


def render(
    settings: Settings,
    department: str,
    template: str,
    language: str,
    opens_at: datetime | None,
    now_local: datetime,
) -> str:
    dep = settings.departments.by_name().get(department)
    label = dep.label if dep and dep.label else department
    values = {
        "site": settings.site.name,
        "department": label,
        "booking_url": settings.site.booking_url,
        "callback_number": settings.site.callback_number,
        "opens_at": format_opening(opens_at, language, now_local),
    }
    return template_text(settings, department, template, language).format(**values).strip()
