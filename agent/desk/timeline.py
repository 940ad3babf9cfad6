"""A case's timeline in the desk's words: the store keeps each action's detail as the
machine wrote it (`201 → +15145550123`, `outbound reached 45s`, `logged voicemail
the note`, `call failed: no_answer`, `reached_elsewhere the note`, `past its SLA`),
the same for every reader (`ringback cases show`, the status API); the desk writes
each line for people, in their language: who (the caller, the phone system, an
extension, a person), what they did and its detail as one phrase, numbers as people
read them (the `phone` filter's form), results and resolutions in words, people's
own notes as they typed them. A form the desk does not know is shown as stored. Pure."""

from __future__ import annotations

from agent.cases.staff_words import readable
from agent.desk.words import TEXT, word
from agent.model import AttemptResult, Resolution

# What each action is, as a verb phrase after who did it.
ACTIONS = {
    "opened": ("a ouvert le dossier", "opened the case"),
    "joined": ("a ajouté un nouvel appel manqué", "added another missed call"),
    "claimed": ("s'en occupe", "took it"),
    "note": ("a noté", "noted"),
    "attempt": ("a rappelé", "called back"),  # a form below has its own (ATTEMPTS)
    "reached": ("a joint le client", "reached the caller"),
    "replied": ("a répondu", "replied"),
    "texted": ("a écrit", "texted"),
    "call": ("a lancé un appel", "placed a call"),
    "closed": ("a fermé le dossier", "closed the case"),
    "reopened": ("a rouvert le dossier", "reopened the case"),
    "escalated": ("a signalé le retard au gestionnaire", "escalated to the manager"),
    "expired": ("a fermé le dossier, resté sans suite", "closed the case, left untouched"),
}
# How an action's words take its detail (the rest: a space between).
JOINS = {
    "note": ("{what}\u00a0: {detail}", "{what}: {detail}"),
    "texted": ("{what}\u00a0: {detail}", "{what}: {detail}"),
    "closed": ("{what}\u00a0: {detail}", "{what}: {detail}"),
    "reopened": ("{what} ({detail})", "{what} ({detail})"),
}
# Who did it, when the store names no person: the caller, the PBX without an
# extension; ringback itself keeps its name.
ACTORS = {
    "caller": ("le client", "the caller"),
    "pbx": ("le central", "the phone system"),
}
RESULTS = {
    AttemptResult.REACHED.value: ("joint", "reached"),
    AttemptResult.TOO_SHORT.value: ("trop court", "too short"),
    AttemptResult.NOT_ANSWERED.value: ("pas de réponse", "no answer"),
    AttemptResult.VOICEMAIL.value: ("boîte vocale", "voicemail"),
}
FIXED = {  # details written in English by the store, said in words
    "past its SLA": ("", ""),  # the action's own words say it
    "callback reached voicemail": (
        "le rappel n'a eu que la boîte vocale",
        "the callback only reached voicemail",
    ),
}
CALL_FAILED = "call failed: "
# Why a click-to-call did not leave (drivers.base.CallRefused.kind), then the PBX's
# own words if it gave any.
REFUSALS = {
    "no_link": ("le central est injoignable (lien coupé)", "the phone system is not connected"),
    "no_answer": ("le central n'a pas répondu", "the phone system did not answer"),
    "refused": ("le central a refusé l'appel", "the phone system refused the call"),
}
RESOLUTIONS = {r.value for r in Resolution}
# What an attempt is, by the form of its detail: a call back the PBX saw, the
# caller's own new call, one logged by hand, a click-to-call the PBX did not place.
ATTEMPTS = {
    "outbound": ("a rappelé le client", "called the caller back"),
    "inbound": ("a reçu le nouvel appel du client", "took the caller's new call"),
    "logged": ("a noté un rappel fait ailleurs", "logged a callback made elsewhere"),
    "failed": ("a tenté d'appeler le client", "tried to call the caller"),
}


def _pick(pair: tuple[str, str], language: str) -> str:
    return pair[0] if language == "fr" else pair[1]


def _code_then_note(detail: str) -> tuple[str, str]:
    code, _, note = detail.partition(" ")
    return code, note


def _with_note(words: str, note: str) -> str:
    return f"{words} — {note}" if note else words


def actor_words(actor: str, language: str) -> str:
    """Who: "le client", "le central", "poste 201" / "ext. 201", or the person."""
    if actor in ACTORS:
        return _pick(ACTORS[actor], language)
    if actor.isdigit():  # the PBX's extension that called or answered
        return f"poste {actor}" if language == "fr" else f"ext. {actor}"
    return actor


def line_words(action: str, detail: str, language: str) -> str:
    """What was done, with its detail, as one phrase after `actor_words`."""
    if action == "attempt" and (known := attempt_words(detail, language)) is not None:
        form, said = known
        colon = "\u00a0: " if language == "fr" else ": "
        return f"{_pick(ATTEMPTS[form], language)}{colon}{said}"
    what = _pick(ACTIONS[action], language) if action in ACTIONS else action
    said = detail_words(action, detail, language)
    if not said:
        return what
    join = _pick(JOINS[action], language) if action in JOINS else "{what} {detail}"
    return join.format(what=what, detail=said)


def call_failed(kind: str, said: str) -> str:
    """The stored note of a click-to-call the PBX did not place: the kind, then the
    PBX's own words (`call failed: refused Permission denied`)."""
    return f"{CALL_FAILED}{kind} {said}".strip()


def refusal_words(kind: str, said: str, language: str) -> str:
    """A click-to-call the PBX did not place, in words, then what the PBX said
    (the flash message and the timeline say it the same way); a kind this desk
    does not know is all the PBX's own words."""
    if kind not in REFUSALS:
        kind, said = "refused", f"{kind} {said}".strip()
    words = _pick(REFUSALS[kind], language)
    return f"{words} ({said})" if said else words


def detail_words(action: str, detail: str, language: str) -> str:
    """The detail of an action in words (unknown forms as stored)."""
    if not detail:
        return ""
    if detail in FIXED:
        return _pick(FIXED[detail], language)
    if action == "call":
        extension, arrow, number = detail.partition(" → ")
        return f"{extension} → {readable(number)}" if arrow else detail
    if action == "closed":
        code, note = _code_then_note(detail)
        if code in RESOLUTIONS and code in TEXT:
            return _with_note(word(code, language), note)
        return detail
    if action == "attempt":
        known = attempt_words(detail, language)
        return detail if known is None else known[1]
    return detail


def attempt_words(detail: str, language: str) -> tuple[str, str] | None:
    """An attempt of a known form: what it was (ATTEMPTS) and how it went in words
    (« pas de réponse, 0 s », « boîte vocale — the note », a refusal in the PBX's
    words); None for a form this desk does not know."""
    if detail.startswith(CALL_FAILED):  # a click-to-call the PBX did not place
        why = detail[len(CALL_FAILED) :]
        return "failed", refusal_words(*_code_then_note(why), language)
    form, _, rest = detail.partition(" ")
    code, note = _code_then_note(rest)
    if code not in RESULTS:
        return None
    result = _pick(RESULTS[code], language)
    if form == "logged":
        return form, _with_note(result, note)
    seconds = note.removesuffix("s")  # the talk time, `45s`
    if form in ("outbound", "inbound") and seconds.isdigit():
        return form, f"{result}, {seconds} s"
    return None
