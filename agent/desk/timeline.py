"""A case's timeline in the desk's words: the store keeps each action's detail as the
machine wrote it (`201 → +15145550123`, `outbound reached 45s`, `logged voicemail
the note`, `reached_elsewhere the note`, `past its SLA`), the same for every reader;
the desk writes it for people, in their language: numbers as people read them (the
`phone` filter's form), results and resolutions in words, people's own notes as they
typed them. Pure."""

from __future__ import annotations

from agent.cases.staff_words import readable
from agent.desk.words import TEXT, word
from agent.model import AttemptResult, Resolution

DIRECTIONS = {  # how the PBX saw the attempt: our call out says nothing more
    "outbound": ("", ""),
    "inbound": ("le client a rappelé", "the caller called again"),
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
RESOLUTIONS = {r.value for r in Resolution}


def _pick(pair: tuple[str, str], language: str) -> str:
    return pair[0] if language == "fr" else pair[1]


def _code_then_note(detail: str) -> tuple[str, str]:
    code, _, note = detail.partition(" ")
    return code, note


def _with_note(words: str, note: str) -> str:
    return f"{words} — {note}" if note else words


def detail_words(action: str, detail: str, language: str) -> str:
    """What the timeline shows after the action's words (unknown forms as stored)."""
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
        return _attempt(detail, language)
    return detail


def _attempt(detail: str, language: str) -> str:
    if detail.startswith(CALL_FAILED):
        why = detail[len(CALL_FAILED) :]
        return word("call_refused", language, why=why)
    if detail.startswith("logged "):
        code, note = _code_then_note(detail[len("logged ") :])
        if code in RESULTS:
            said = ("noté : " if language == "fr" else "logged: ") + _pick(RESULTS[code], language)
            return _with_note(said, note)
        return detail
    parts = detail.split(" ")
    if len(parts) == 3 and parts[0] in DIRECTIONS and parts[1] in RESULTS:
        seconds = parts[2].removesuffix("s")
        talk = f"{seconds} s" if seconds.isdigit() else parts[2]
        how = _pick(DIRECTIONS[parts[0]], language)
        said = f"{_pick(RESULTS[parts[1]], language)}, {talk}"
        return f"({how}) {said}" if how else said
    return detail
