"""`POST /v1/cases/{id}/claim|close|note|reply`: the cloud works a case.

Only a token listed as `status.write_token` may write (the other tokens read only):
anything else is 403 `forbidden`. The body is a JSON object: `claim` `{"owner"}`,
`close` `{"resolution", "note"?, "by"?}`, `note` `{"note", "by"?}`, `reply`
`{"text", "by"?}`. An unknown case is 404 `not_found`, a state that forbids the action
409 `conflict`, a resolution other than the staff's 422 `bad_resolution` naming the
allowed values, a malformed body 400 `bad_request`. The answer is the case as
`/v1/cases` serves it.

`reply` is the shared answer in the case's conversation (`agent.cases.reply`): 201
with the queued text; 409 with the reason for a closed case (`closed`), an opted-out
(`opted_out`) or otherwise untextable number, a cap; 422 for an empty text
(`text_empty`) or one over the limit, named in SMS segments (`text_too_long`).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from aiohttp import web

from agent.cases.actions import BadResolution, close
from agent.cases.reply import Queued, ReplyRefused, reply
from agent.config.settings import Settings
from agent.status.paging import PageError, case_item, number
from agent.store import Store, ts
from agent.store.cases import CaseError

MAX_TEXT = 2000
ACTIONS = ("claim", "close", "note", "reply")


class WriteError(PageError):
    """A refused write, with its HTTP status and stable reason."""


async def body_of(request: web.Request) -> dict[str, Any]:
    try:
        data = json.loads(await request.read() or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise WriteError("bad_request", "the body is not JSON (expected an object)") from None
    if not isinstance(data, dict):
        raise WriteError("bad_request", "the body is not a JSON object")
    return data


def _text(data: dict[str, Any], key: str, required: bool, default: str = "") -> str:
    value = data.get(key)
    if value is None:
        if required:
            raise WriteError("bad_request", f"{key} is missing (expected a string)")
        return default
    if not isinstance(value, str) or len(value) > MAX_TEXT or (required and not value.strip()):
        raise WriteError("bad_request", f"{key} must be a non-empty string of at most {MAX_TEXT}")
    return value


async def apply(
    store: Store, action: str, case_id: int, data: dict[str, Any], now: datetime, full: bool
) -> dict[str, Any]:
    """Do `action` on the case and return it as served; raises WriteError."""
    work: dict[str, Callable[[], Awaitable[None]]] = {
        "claim": lambda: store.claim_case(case_id, _text(data, "owner", True), now),
        "close": lambda: close(
            store,
            case_id,
            _text(data, "resolution", True),
            _text(data, "note", False),
            _text(data, "by", False, "cloud"),
            now,
        ),
        "note": lambda: store.note_case(
            case_id, _text(data, "note", True), _text(data, "by", False, "cloud"), now
        ),
    }
    try:
        await work[action]()
    except BadResolution as err:
        raise WriteError("bad_resolution", str(err), status=422) from None
    except CaseError as err:
        status = 404 if err.reason == "not_found" else 409
        raise WriteError(err.reason, err.detail, status=status) from None
    row = await store.case(case_id)
    assert row is not None
    return case_item(row, full)


async def answer(
    store: Store,
    settings: Settings,
    case_id: int,
    data: dict[str, Any],
    now: datetime,
    full: bool,
) -> dict[str, Any]:
    """`reply`: queue the answer and return it as queued; raises WriteError."""
    text = data.get("text")
    if not isinstance(text, str):
        raise WriteError("bad_request", "text is missing (expected a string)")
    try:
        by = _text(data, "by", False).strip() or "cloud"
        queued = await reply(store, settings, case_id, text, by, now)
    except ReplyRefused as err:
        raise WriteError(err.reason, err.detail, status=err.status) from None
    return queued_item(queued, full)


def queued_item(queued: Queued, full: bool) -> dict[str, Any]:
    return {
        "message_id": queued.message_id,
        "case_id": queued.case_id,
        "to_e164": number(queued.to_e164, full),
        "state": "pending",
        "by": queued.by,
        "via": queued.via,
        "segments": queued.segments,
        "not_before": ts(queued.not_before).replace("+00:00", "Z"),
        "deferred": queued.deferred,
    }
