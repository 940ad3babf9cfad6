"""The timeline's details as the desk writes them: each form the store writes, in
French and English; people's notes as typed; a form the desk does not know as stored."""

from __future__ import annotations

import pytest

from agent.desk.timeline import detail_words


@pytest.mark.parametrize(
    ("action", "detail", "fr", "en"),
    [
        ("call", "201 → +15145550123", "201 → +1 514-555-0123", "201 → +1 514-555-0123"),
        ("call", "201 → not a number", "201 → not a number", "201 → not a number"),
        (
            "attempt",
            "outbound reached 45s",
            "joint, 45 s",
            "reached, 45 s",
        ),
        (
            "attempt",
            "inbound too_short 3s",
            "(le client a rappelé) trop court, 3 s",
            "(the caller called again) too short, 3 s",
        ),
        (
            "attempt",
            "logged not_answered from my cell",
            "noté : pas de réponse — from my cell",
            "logged: no answer — from my cell",
        ),
        ("attempt", "logged voicemail", "noté : boîte vocale", "logged: voicemail"),
        (
            "attempt",
            "call failed: Channel busy",
            "Le central a refusé l'appel : Channel busy",
            "The phone system refused the call: Channel busy",
        ),
        (
            "closed",
            "wrong_number not a client",
            "mauvais numéro — not a client",
            "wrong number — not a client",
        ),
        ("closed", "reached", "joint", "reached"),
        ("escalated", "past its SLA", "", ""),
        (
            "reopened",
            "callback reached voicemail",
            "le rappel n'a eu que la boîte vocale",
            "the callback only reached voicemail",
        ),
        ("note", "asked for the oil change price", "asked for the oil change price", None),
        ("texted", "Bonjour, on vous rappelle", "Bonjour, on vous rappelle", None),
        ("attempt", "something new 1 2", "something new 1 2", None),
        ("opened", "", "", ""),
    ],
)
def test_each_detail_in_words(action: str, detail: str, fr: str, en: str | None) -> None:
    assert detail_words(action, detail, "fr") == fr
    assert detail_words(action, detail, "en") == (fr if en is None else en)
