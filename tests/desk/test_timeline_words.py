"""The timeline as the desk writes it: each detail form the store writes, in French
and English; who did it in words; each action as one phrase with its detail;
people's notes as typed; a form the desk does not know as stored."""

from __future__ import annotations

import pytest

from agent.desk.timeline import ACTIONS, actor_words, detail_words, line_words


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
            "trop court, 3 s",
            "too short, 3 s",
        ),
        (
            "attempt",
            "logged not_answered from my cell",
            "pas de réponse — from my cell",
            "no answer — from my cell",
        ),
        ("attempt", "logged voicemail", "boîte vocale", "voicemail"),
        (
            "attempt",
            "call failed: Channel busy",
            "le central a refusé l'appel (Channel busy)",
            "the phone system refused the call (Channel busy)",
        ),
        # a click-to-call the PBX did not place: a kind said in words, then the PBX's
        # own words; before the kinds, all its words
        (
            "attempt",
            "call failed: no_answer TimeoutError",
            "le central n'a pas répondu (TimeoutError)",
            "the phone system did not answer (TimeoutError)",
        ),
        (
            "attempt",
            "call failed: no_link",
            "le central est injoignable (lien coupé)",
            "the phone system is not connected",
        ),
        (
            "attempt",
            "call failed: refused Permission denied",
            "le central a refusé l'appel (Permission denied)",
            "the phone system refused the call (Permission denied)",
        ),
        (
            "attempt",
            "call failed: Asterisk refused the call",
            "le central a refusé l'appel (Asterisk refused the call)",
            "the phone system refused the call (Asterisk refused the call)",
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


@pytest.mark.parametrize(
    ("actor", "fr", "en"),
    [
        ("caller", "le client", "the caller"),
        ("pbx", "le central", "the phone system"),
        ("201", "poste 201", "ext. 201"),
        ("ana", "ana", "ana"),
        ("ringback", "ringback", "ringback"),
    ],
)
def test_who_in_words(actor: str, fr: str, en: str) -> None:
    """The store's `caller` and `pbx` are said in the reader's language, an extension
    is a phone's, a person keeps their name."""
    assert (actor_words(actor, "fr"), actor_words(actor, "en")) == (fr, en)


@pytest.mark.parametrize(
    ("action", "detail", "fr", "en"),
    [
        ("replied", "", "a répondu", "replied"),
        ("note", "price?", "a noté\u00a0: price?", "noted: price?"),
        ("texted", "Bonjour", "a écrit\u00a0: Bonjour", "texted: Bonjour"),
        (
            "closed",
            "wrong_number not a client",
            "a fermé le dossier\u00a0: mauvais numéro — not a client",
            "closed the case: wrong number — not a client",
        ),
        ("closed", "", "a fermé le dossier", "closed the case"),  # a note erased
        (
            "reopened",
            "callback reached voicemail",
            "a rouvert le dossier (le rappel n'a eu que la boîte vocale)",
            "reopened the case (the callback only reached voicemail)",
        ),
        (
            "escalated",
            "past its SLA",
            "a signalé le retard au gestionnaire",
            "escalated to the manager",
        ),
        (
            "attempt",
            "outbound reached 45s",
            "a rappelé le client\u00a0: joint, 45 s",
            "called the caller back: reached, 45 s",
        ),
        (
            "attempt",
            "inbound not_answered 0s",
            "a reçu le nouvel appel du client\u00a0: pas de réponse, 0 s",
            "took the caller's new call: no answer, 0 s",
        ),
        (
            "attempt",
            "logged voicemail left a message",
            "a noté un rappel fait ailleurs\u00a0: boîte vocale — left a message",
            "logged a callback made elsewhere: voicemail — left a message",
        ),
        (
            "attempt",
            "call failed: no_answer TimeoutError",
            "a tenté d'appeler le client\u00a0: le central n'a pas répondu (TimeoutError)",
            "tried to call the caller: the phone system did not answer (TimeoutError)",
        ),
        (  # an advisor's note that reads like a refusal is the advisor's note
            "attempt",
            "logged not_answered call failed: my cell died",
            "a noté un rappel fait ailleurs\u00a0: pas de réponse — call failed: my cell died",
            "logged a callback made elsewhere: no answer — call failed: my cell died",
        ),
        (
            "attempt",
            "outbound reached",
            "a rappelé outbound reached",
            "called back outbound reached",
        ),
        ("call", "201 → +15145550123", "a lancé un appel 201 → +1 514-555-0123", None),
        ("something_new", "x", "something_new x", "something_new x"),
    ],
)
def test_each_line_reads_as_one_phrase(action: str, detail: str, fr: str, en: str | None) -> None:
    """What the case page prints after who: the action and its detail joined as the
    language joins them (French « : », parentheses for a reason)."""
    assert line_words(action, detail, "fr") == fr
    assert line_words(action, detail, "en") == (
        en or fr.replace("a lancé un appel", "placed a call")
    )


def test_every_action_the_store_writes_has_words() -> None:
    """Each action name the store writes (`_act(case, now, actor, ACTION, ...)`, read
    from its source) is one the timeline says in both languages."""
    import ast
    from pathlib import Path

    written = set()
    for path in (Path(__file__).resolve().parents[2] / "agent" / "store").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "_act"
                and len(node.args) > 3
                and isinstance(node.args[3], ast.Constant)
            ):
                written.add(node.args[3].value)
    assert len(written) >= 10 and written <= set(ACTIONS), written - set(ACTIONS)
