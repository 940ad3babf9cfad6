"""What a staff notification says: subject, lines, facts and link, in the
department's language (fr or en).

Staff see the caller's whole number and name, and a reply's text: these words go
to the dealership's own people only, never into a log line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers

WORDS = {
    "opened": ("Appel manqué au {dept} : {who}", "Missed call to {dept}: {who}"),
    "reply": ("Réponse au texto ({dept}) : {who}", "Reply to the text ({dept}): {who}"),
    "escalated": (
        "Délai dépassé au {dept} : {who} attend un rappel",
        "Past its SLA at {dept}: {who} is waiting for a call back",
    ),
    "morning_list": (
        "{dept} : {n} client(s) à rappeler",
        "{dept}: {n} caller(s) to call back",
    ),
    "what": ("Ce qui est arrivé : {what}", "What happened: {what}"),
    "calls": ("Appels manqués : {n}", "Missed calls: {n}"),
    "due": ("À rappeler avant : {at}", "Call back before: {at}"),
    "said": ("Le client a écrit : « {body} »", "The caller wrote: \u201c{body}\u201d"),
    "no_case": (
        "Aucun dossier ouvert pour ce numéro.",
        "No open case for this number.",
    ),
    "late": (
        "Personne n'a encore rappelé ce client (dû à {at}).",
        "Nobody has called this caller back yet (due {at}).",
    ),
    "oldest": ("Le plus ancien : {at}", "Oldest: {at}"),
    "past_sla": ("Délai dépassé : {n}", "Past their SLA: {n}"),
    "withheld": ("numéro masqué", "number withheld"),
    "case": ("Dossier", "Case"),
    "number": ("Numéro", "Number"),
    "name": ("Nom", "Name"),
}

OUTCOMES = {
    "missed": ("personne n'a répondu", "nobody answered"),
    "voicemail": ("laissé à la boîte vocale", "went to voicemail"),
    "abandoned_ivr": ("raccroché dans le menu", "hung up in the phone menu"),
    "abandoned_queue": ("raccroché en attente", "hung up while waiting in the queue"),
    "busy": ("ligne occupée", "the line was busy"),
    "answered": ("répondu", "answered"),
}


def word(key: str, language: str, /, **fields: object) -> str:
    fr, en = WORDS[key]
    return (fr if language == "fr" else en).format(**fields)


def outcome_words(outcome: str | None, language: str) -> str:
    fr, en = OUTCOMES.get(outcome or "", (outcome or "?", outcome or "?"))
    return fr if language == "fr" else en


@dataclass(frozen=True, slots=True)
class Content:
    """One notification's words: e-mail subject and text, webhook notice, SMS body."""

    kind: str
    subject: str
    lines: list[str] = field(default_factory=list)
    facts: list[tuple[str, str]] = field(default_factory=list)
    link: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def text(self) -> str:
        parts = [*self.lines, *(f"{k}: {v}" for k, v in self.facts)]
        if self.link:
            parts.append(self.link)
        return "\n".join(parts)

    def sms(self) -> str:
        parts = [self.subject, *self.lines[:2]]
        if self.link:
            parts.append(self.link)
        return "\n".join(parts)


def who(number: str | None, raw: str, name: str | None, language: str) -> str:
    """The caller as staff see them: the whole number (readable) and the name."""
    shown = readable(number) if number else (raw or word("withheld", language))
    return f"{shown} ({name})" if name else shown


@lru_cache(maxsize=4096)
def readable(number: str) -> str:
    """+15145550111 as +1 514-555-0111 (the number as written when it does not parse).

    Remembered: libphonenumber takes some 14 µs a number, and the desk writes the same
    open cases' numbers on every board of every advisor (300 a board, again at each
    change)."""
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def local_time(stamp: str | None, tz: ZoneInfo) -> str:
    if not stamp:
        return "-"
    return datetime.fromisoformat(stamp).astimezone(tz).strftime("%Y-%m-%d %H:%M")
