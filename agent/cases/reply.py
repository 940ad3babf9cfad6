"""A staff answer in a case's conversation with its caller: the one function behind
the desk's reply form, `ringback reply CASE --text TEXT` and
`POST /v1/cases/{id}/reply`.

The answer goes through the policy's checks before anything is queued:
- the case must exist (`not_found`) and be open (`closed`), with a number to text
  (`no_number`: withheld, or the case is callback-only);
- the text must not be empty (`text_empty`) nor longer than `MAX_SEGMENTS` SMS
  segments, or fewer when a sender it may leave through sends fewer (`text_too_long`);
- the number must be textable: a country not allowed, the blocklist, an opt-out
  (STOP) refuse it with the reason (`country_not_allowed`, `blocklisted`,
  `opted_out`);
- the caps: `STAFF_TEXTS_PER_DAY` answers to one number a day (`number_cap`) and the
  site's hourly budget of texts to callers (`global_cap`, the SMS-pumping guard).
A refusal raises `ReplyRefused` (`reason`, a sentence, the HTTP status the API
answers). Inside the site's quiet hours the answer is queued due when they end, and
`Queued.deferred` says so.

The answer is pinned to the thread's sender (`thread_sender`: the one that reached
the caller first), so a caller who texted the modem number is answered from it; when
that sender is no longer configured, or the thread has none yet, the chain in order.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from agent.config.hours import quiet_hours_end
from agent.config.settings import Settings
from agent.config.summary import text_cost
from agent.decide.policy import number_refusal
from agent.numbers import mask, region_of
from agent.store import Store, ts
from agent.store.cases import CaseError

log = logging.getLogger(__name__)

STAFF_TEXTS_PER_DAY = 10
MAX_SEGMENTS = 4
EXPIRES_AFTER = timedelta(hours=12)

_WHY_NOT = {
    "country_not_allowed": "the number's country is not in sms.allowed_countries",
    "blocklisted": "the number is on sms.blocklist",
    "sms_incapable": "the carrier said this number cannot take texts (a landline?): call it",
    "landline": "this is a landline number: call it",
    "toll_free": "this is a toll-free number: call it",
}


class ReplyRefused(Exception):
    """An answer the policy refuses: `reason` (stable), `detail` (a sentence),
    `status` (404 unknown case, 409 the case or the number forbids it, 422 the text)
    and `fields` (the numbers in the sentence, for other languages)."""

    def __init__(self, reason: str, detail: str, status: int = 409, **fields: object) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.status = status
        self.fields = fields


@dataclass(frozen=True, slots=True)
class Queued:
    """The answer in the outbox: due at `not_before` (the end of quiet hours when
    `deferred`), through `via` (None: the chain)."""

    message_id: int
    case_id: int
    to_e164: str
    body: str
    by: str
    via: str | None
    not_before: datetime
    deferred: bool
    segments: int


def clean(text: str) -> str:
    """Spaces inside each line collapsed, blank lines and the ends dropped."""
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def segment_limit(settings: Settings, via: str | None) -> int:
    """`MAX_SEGMENTS`, or the fewest `max_parts` of the senders the text may leave
    through (the pinned one, else every sender of the chain that has a limit)."""
    senders = [s for s in settings.sms.senders if via is None or s.name == via]
    parts = [p for s in senders if isinstance(p := getattr(s, "max_parts", None), int)]
    return min([MAX_SEGMENTS, *parts])


async def reply(
    store: Store, settings: Settings, case_id: int, text: str, by: str, now: datetime
) -> Queued:
    """Queue `by`'s answer `text` to the case's caller; raises `ReplyRefused`."""
    case = await store.case(case_id)
    if case is None:
        raise ReplyRefused("not_found", f"no case {case_id}", 404)
    if case["state"] != "open":
        raise ReplyRefused(
            "closed", f"case {case_id} is closed ({case['resolution']}): no text goes out"
        )
    caller = str(case["caller_e164"] or "")
    if not caller or not case["callback_possible"]:
        raise ReplyRefused("no_number", f"case {case_id} has no number to text")
    body = clean(text)
    if not body or "\x00" in body:
        raise ReplyRefused("text_empty", "the text is empty", 422)
    names = {s.name for s in settings.sms.senders}
    via = await store.thread_sender(case_id)
    via = via if via in names else None
    segments, limit = text_cost(body)[1], segment_limit(settings, via)
    if segments > limit:
        raise ReplyRefused(
            "text_too_long",
            f"the text takes {segments} SMS segments (at most {limit})",
            422,
            n=limit,
        )
    await _textable(store, settings, caller)
    await _caps(store, settings, caller, now)
    local = now.astimezone(settings.site.tz)
    quiet_end = quiet_hours_end(settings.sms.quiet_hours, local)
    due = now if quiet_end is None else quiet_end.astimezone(now.tzinfo)
    department = str(case["department"])
    try:
        message_id = await store.queue_staff_reply(
            case_id,
            caller,
            department,
            settings.departments.language_of(department),
            body,
            by,
            now,
            due + EXPIRES_AFTER,
            not_before=due,
            via=via,
        )
    except CaseError as err:
        status = 404 if err.reason == "not_found" else 409
        raise ReplyRefused("closed" if status == 409 else err.reason, err.detail, status) from None
    log.info(
        "case_id=%d answer queued message_id=%d to=%s via=%s%s",
        case_id,
        message_id,
        mask(caller),
        via or "chain",
        " (held for quiet hours)" if quiet_end is not None else "",
    )
    return Queued(message_id, case_id, caller, body, by, via, due, quiet_end is not None, segments)


async def _textable(store: Store, settings: Settings, caller: str) -> None:
    opted_out = await store.is_opted_out(caller)
    sms_incapable, _ = await store.texting_facts(caller)
    reason = number_refusal(caller, region_of(caller), opted_out, settings, sms_incapable)
    if reason == "opted_out":
        row = await store.fetchone(
            "SELECT keyword, at FROM opt_outs WHERE number_e164 = ?", (caller,)
        )
        said = f" ({str(row[0]).upper()} on {str(row[1])[:10]})" if row else ""
        raise ReplyRefused(
            "opted_out", f"the caller asked for no more texts{said}: call them instead"
        )
    if reason:
        raise ReplyRefused(reason, f"{_WHY_NOT.get(reason, reason)}: no text goes out")


async def _caps(store: Store, settings: Settings, caller: str, now: datetime) -> None:
    answered = await store.scalar(
        "SELECT COUNT(*) FROM messages WHERE to_e164 = ? AND template = 'staff_reply' "
        "AND created_at >= ? AND state NOT IN ('suppressed', 'failed')",
        (caller, ts(now - timedelta(days=1))),
    )
    if int(answered or 0) >= STAFF_TEXTS_PER_DAY:
        raise ReplyRefused(
            "number_cap",
            f"already {STAFF_TEXTS_PER_DAY} answers to this number today: call them instead",
            n=STAFF_TEXTS_PER_DAY,
        )
    last_hour = await store.messages_since(now - timedelta(hours=1))
    if last_hour >= settings.sms.global_hourly_cap:
        raise ReplyRefused(
            "global_cap",
            f"the site's {settings.sms.global_hourly_cap} texts of the last hour are used up "
            "(sms.global_hourly_cap): try again later",
            n=settings.sms.global_hourly_cap,
        )
