"""What an advisor does to a case from the desk: claim it, log a call back made
outside the PBX, note it, close it with a resolution, reopen it, text the caller.
Every action is stored with who and when (the case's timeline).

A text to the caller is the shared answer in the case's conversation
(`agent.cases.reply`: the thread's sender, opt-out, quiet hours and caps), refused
at once with the reason in the user's words.
"""

from __future__ import annotations

from agent.cases.actions import BadResolution, staff_resolution
from agent.cases.reply import ReplyRefused, reply
from agent.config.desk import DeskUser
from agent.desk.timeline import call_failed, refusal_words
from agent.desk.words import word
from agent.model import AttemptResult
from agent.status.view import StatusView
from agent.store.cases import CaseError
from drivers.base import Originates

# The desk's words for the shared answer's refusals (`agent.cases.reply`).
REPLY_WORDS = {
    "closed": "reply_closed",
    "no_number": "no_number",
    "text_empty": "text_empty",
    "text_too_long": "text_long",
    "opted_out": "opted_out",
    "country_not_allowed": "not_textable",
    "blocklisted": "not_textable",
    "number_cap": "too_many_texts",
    "global_cap": "global_cap",
}
ATTEMPT_RESULTS = {
    "not_answered": AttemptResult.NOT_ANSWERED,
    "voicemail": AttemptResult.VOICEMAIL,
    "reached": AttemptResult.REACHED,
}


class ActionRefused(Exception):
    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


async def act(
    daemon: StatusView,
    user: DeskUser,
    case_id: int,
    action: str,
    form: dict[str, str],
    language: str,
) -> str:
    """Do `action`; return the words that confirm it, or raise `ActionRefused`."""
    store = daemon.store
    if store is None:
        raise ActionRefused(word("store_down", language), 503)
    case = await store.case(case_id)
    if case is None or not user.sees(str(case["department"])):
        raise ActionRefused("no such case", 404)
    now = daemon.clock()
    note = form.get("note", "").strip()
    try:
        if action == "claim":
            await store.claim_case(case_id, user.name, now)
            return word("claimed", language)
        if action == "note":
            if not note:
                raise ActionRefused(word("note_empty", language))
            await store.note_case(case_id, note, user.name, now)
            return word("noted", language)
        if action == "attempt":
            result = ATTEMPT_RESULTS.get(form.get("result", ""))
            if result is None:
                raise ActionRefused(word("bad_result", language))
            await store.log_staff_attempt(case_id, user.name, result, note, now)
            return word("attempt_logged", language)
        if action == "close":
            resolution = staff_resolution(form.get("resolution", ""))
            await store.close_case(case_id, resolution, note, user.name, now)
            return word("closed", language)
        if action == "reopen":
            await store.reopen_case(case_id, user.name, now)
            return word("reopened", language)
        if action == "reply":
            return await _reply(daemon, user, case, form.get("text", ""), language)
        if action == "call":
            return await _call(daemon, user, case, language)
    except CaseError as err:
        raise ActionRefused(
            word("conflict", language) if err.reason == "conflict" else err.detail
        ) from None
    except BadResolution as err:
        raise ActionRefused(str(err), 422) from None
    raise ActionRefused("unknown action", 404)


async def _reply(
    daemon: StatusView, user: DeskUser, case: dict[str, object], text: str, language: str
) -> str:
    """The shared answer (`agent.cases.reply`), its refusal in the user's words."""
    store = daemon.store
    assert store is not None
    try:
        queued = await reply(
            store, daemon.loaded.settings, int(str(case["id"])), text, user.name, daemon.clock()
        )
    except ReplyRefused as err:
        words = REPLY_WORDS.get(err.reason)
        raise ActionRefused(
            word(words, language, **err.fields) if words else err.detail, err.status
        ) from None
    runtime = daemon.runtime
    if runtime is not None and runtime.dispatcher is not None:
        runtime.dispatcher.wake()
    if queued.deferred:
        at = queued.not_before.astimezone(daemon.loaded.settings.site.tz)
        return word("text_deferred", language, at=f"{at:%H:%M}")
    return word("text_queued", language)


async def _call(daemon: StatusView, user: DeskUser, case: dict[str, object], language: str) -> str:
    """Click-to-call through the PBX: the user's desk phone rings, then dials the
    caller; that call, once answered, is the case's proof like any callback. A PBX
    that refuses says why on the case, which keeps a failed attempt."""
    store = daemon.store
    assert store is not None
    caller = str(case["caller_e164"] or "")
    case_id = int(str(case["id"]))
    if not caller or not case["callback_possible"]:
        raise ActionRefused(word("no_number", language))
    if not user.extension:
        raise ActionRefused(word("no_extension", language))
    runtime = daemon.runtime
    dialers = [s.source for s in runtime.sources] if runtime is not None else []
    dialer = next((d for d in dialers if isinstance(d, Originates)), None)
    if dialer is None:
        raise ActionRefused(word("no_click_to_call", language))
    label = daemon.loaded.settings.departments.by_name().get(str(case["department"]))
    name = (label.label if label and label.label else str(case["department"])) or ""
    refusal = await dialer.originate(user.extension, caller, f'"{name}: {caller}" <{caller}>')
    now = daemon.clock()
    if refusal is not None:
        # stored as the kind then the PBX's words, said in each reader's language
        note = call_failed(refusal.kind, refusal.said)
        await store.log_staff_attempt(
            case_id, user.name, AttemptResult.NOT_ANSWERED, note, now, refused=True
        )
        said = refusal_words(refusal.kind, refusal.said, language)
        raise ActionRefused(f"{said[:1].upper()}{said[1:]}.")
    await store.case_event(case_id, user.name, "call", f"{user.extension} → {caller}", now)
    return word("calling", language, extension=user.extension)
