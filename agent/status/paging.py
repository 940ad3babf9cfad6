"""The feeds the cloud pulls: `/v1/calls`, `/v1/messages`, `/v1/replies`, `/v1/cases`,
paged.

A page is `{"items": [...], "next_cursor": "...", "has_more": bool}`. The cloud keeps
`next_cursor` and sends it back as `?cursor=` on its next pull; with no cursor the
feed starts at the beginning. The cursor is opaque (urlsafe base64 of the feed name
and the last change served); a cursor of one feed is refused by another.

The feeds follow changes: a row is served when it is new and again when it changes
in a way the cloud cares about (a call decided or marked recovered, a message
changing state, a case changing in any way), always as it is at the time of the
pull, and once per pull at its latest change. The cloud upserts items by `id`.

Why there is no gap and no duplicate
------------------------------------
Every insert and every such change stamps the row with `change_seq`, the next value
of one counter, by a trigger *inside* the write transaction (schema 5); rows are
never deleted, and a page is `change_seq > cursor ORDER BY change_seq`. SQLite has
one writer at a time, so changes are numbered in commit order: once a reader has
seen change N committed, every change committed later gets a number above N. A
rolled-back change gives its number back, which is harmless only if nobody saw it:
the store's own connection could show its uncommitted rows to a query issued
mid-transaction, so the feeds read under the store's write lock
(`Store.rows_after`), between transactions, never inside one. Hence the cursor never
skips a change that commits later (no gap), and a row appears once per pull, at its
latest change (no duplicate).

A call is stored with its decision in one transaction. A page of calls still stops
before a call that has no decision yet and was received less than `SETTLE_SECONDS`
ago (only stores written by an older ringback can hold one); an older undecided call
is served as it is, with `decision: null`, and again once decided.

A cursor pointing past the last row (the database was replaced, e.g. restored from
an older backup) is refused with 409 rather than silently skipping the new rows.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from agent.numbers import mask, mask_text
from agent.store import Store, parse_ts
from agent.store.case_views import CASE_COLUMNS

DEFAULT_LIMIT = 100
MAX_LIMIT = 500
MAX_CURSOR_CHARS = 64
SETTLE_SECONDS = 30.0
_CURSOR_VERSION = "v1"
_MAX_ID = 2**63 - 1


class PageError(ValueError):
    """A request the feed cannot serve; `reason` is a stable code, `status` the HTTP
    status (400 bad_cursor, bad_limit or bad_request, 409 cursor_ahead)."""

    def __init__(self, reason: str, detail: str, status: int = 400) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.status = status


def encode_cursor(feed: str, last_id: int) -> str:
    raw = f"{_CURSOR_VERSION}:{feed}:{last_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(feed: str, cursor: str | None) -> int:
    """The last id served, 0 for no cursor; PageError("bad_cursor") for anything else
    than a cursor this feed handed out."""
    if cursor is None:
        return 0
    if not cursor or len(cursor) > MAX_CURSOR_CHARS:
        raise PageError("bad_cursor", "cursor is not one this API handed out")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, ValueError):
        raise PageError("bad_cursor", "cursor is not one this API handed out") from None
    version, _, rest = raw.partition(":")
    name, _, number = rest.partition(":")
    if version != _CURSOR_VERSION or not number.isdigit() or not number.isascii():
        raise PageError("bad_cursor", "cursor is not one this API handed out")
    if name != feed:
        raise PageError("bad_cursor", f"cursor belongs to the {name or '?'} feed, not {feed}")
    value = int(number)
    if value > _MAX_ID:
        raise PageError("bad_cursor", "cursor is not one this API handed out")
    return value


def parse_limit(text: str | None) -> int:
    if text is None:
        return DEFAULT_LIMIT
    if not text.isdigit() or not text.isascii() or len(text) > 6:
        raise PageError("bad_limit", f"limit must be an integer from 1 to {MAX_LIMIT}")
    value = int(text)
    if not 1 <= value <= MAX_LIMIT:
        raise PageError("bad_limit", f"limit must be an integer from 1 to {MAX_LIMIT}")
    return value


@dataclass(frozen=True, slots=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str
    has_more: bool

    def json(self) -> dict[str, Any]:
        return {"items": self.items, "next_cursor": self.next_cursor, "has_more": self.has_more}


@dataclass(frozen=True, slots=True)
class Feed:
    table: str
    columns: tuple[str, ...]
    item: Callable[[dict[str, Any], bool], dict[str, Any]]
    settled: Callable[[dict[str, Any], datetime], bool] | None = None


async def read_page(
    store: Store, feed: Feed, cursor: str | None, limit: int, now: datetime, full_numbers: bool
) -> Page:
    after = decode_cursor(feed.table, cursor)
    columns = (*feed.columns, "change_seq")
    rows, highest = await store.rows_after(feed.table, ", ".join(columns), after, limit + 1)
    if after > highest:
        raise PageError(
            "cursor_ahead",
            "cursor is past the last row of this store (was the database replaced?); "
            "start again without a cursor",
            status=409,
        )
    items: list[dict[str, Any]] = []
    last = after
    has_more = len(rows) > limit
    for row in rows[:limit]:
        record = dict(zip(columns, row, strict=True))
        if feed.settled is not None and not feed.settled(record, now):
            has_more = True
            break
        change = int(record.pop("change_seq"))
        items.append(feed.item(record, full_numbers))
        last = change
    return Page(items, encode_cursor(feed.table, last), has_more)


# --- the three feeds -------------------------------------------------------------------


def iso_text(stored: str | None) -> str | None:
    """A stored UTC timestamp as RFC 3339 with `Z`."""
    if stored is None:
        return None
    return parse_ts(stored).isoformat(timespec="microseconds").replace("+00:00", "Z")


def number(value: str | None, full: bool) -> str | None:
    if value is None or value == "":
        return value
    return value if full else mask(value)


def person_name(value: str | None, full: bool) -> str | None:
    """A caller-ID name is personal data too: initials (`J. M.`) unless full."""
    if not value or full:
        return value
    words = re.findall(r"[^\W\d_]+", value)
    return " ".join(f"{w[0].upper()}." for w in words) or "•"


def scrub(text: str | None, full: bool) -> str | None:
    """Free text (a provider's error) with any phone number in it masked."""
    if text is None or full:
        return text
    return mask_text(text)


_CALL_COLUMNS = (
    "id",
    "source",
    "pbx_call_id",
    "started_at",
    "ended_at",
    "received_at",
    "direction",
    "outcome",
    "caller_raw",
    "caller_e164",
    "remote_e164",
    "caller_name",
    "dialed",
    "queue",
    "ivr_path",
    "ring_seconds",
    "ivr_seconds",
    "queue_seconds",
    "talk_seconds",
    "answered_by",
    "extensions",
    "evidence",
    "department",
    "after_hours",
    "decision",
    "recovered_at",
    "recovered_by",
)


def _call_item(row: dict[str, Any], full: bool) -> dict[str, Any]:
    item = dict(row)
    for key in ("started_at", "ended_at", "received_at", "recovered_at"):
        item[key] = iso_text(row[key])
    for key in ("caller_raw", "caller_e164", "remote_e164"):
        item[key] = number(row[key], full)
    item["caller_name"] = person_name(row["caller_name"], full)
    item["extensions"] = [e for e in str(row["extensions"] or "").split(",") if e]
    item["after_hours"] = bool(row["after_hours"])
    return item


def _call_settled(row: dict[str, Any], now: datetime) -> bool:
    if row["decision"] is not None:
        return True
    return now - parse_ts(row["received_at"]) >= timedelta(seconds=SETTLE_SECONDS)


_MESSAGE_COLUMNS = (
    "id",
    "call_id",
    "to_e164",
    "department",
    "template",
    "language",
    "state",
    "not_before",
    "expires_at",
    "attempts",
    "sender",
    "provider_id",
    "delivery",
    "delivery_code",
    "delivery_at",
    "last_error",
    "created_at",
    "updated_at",
    "sent_at",
)


def _message_item(row: dict[str, Any], full: bool) -> dict[str, Any]:
    item = dict(row)
    for key in ("not_before", "expires_at", "created_at", "updated_at", "sent_at", "delivery_at"):
        item[key] = iso_text(row[key])
    item["to_e164"] = number(row["to_e164"], full)
    item["last_error"] = scrub(row["last_error"], full)
    return item


_REPLY_COLUMNS = ("id", "from_e164", "body", "received_at", "sender", "kind")


def _reply_item(row: dict[str, Any], full: bool) -> dict[str, Any]:
    item = dict(row)
    item["received_at"] = iso_text(row["received_at"])
    item["from_e164"] = number(row["from_e164"], full)
    item["body"] = scrub(row["body"], full)  # "call me at 514 555 0199"
    return item


_CASE_TIMES = (
    "opened_at",
    "last_miss_at",
    "sla_due_at",
    "first_attempt_at",
    "replied_at",
    "reached_at",
    "escalated_at",
    "closed_at",
    "updated_at",
)


def case_item(row: dict[str, Any], full: bool) -> dict[str, Any]:
    """A case as the cloud sees it (`id` and `case_id` are the same)."""
    item: dict[str, Any] = {"case_id": row["id"], "id": row["id"]}
    for key in (
        "state",
        "resolution",
        "department",
        "calls",
        "attempts",
        "reached_by",
        "proof_call_id",
        "owner",
        "closed_by",
    ):
        item[key] = row[key]
    item["caller"] = number(row["caller_e164"] or row["caller_raw"] or None, full)
    item["callback_possible"] = bool(row["callback_possible"])
    item["callback_only"] = bool(row["callback_only"])
    item["call_ids"] = [int(c) for c in str(row["call_ids"] or "").split(",") if c]
    item["note"] = scrub(row["note"], full)
    for key in _CASE_TIMES:
        item[key] = iso_text(row[key])
    return item


FEEDS: dict[str, Feed] = {
    "calls": Feed("calls", _CALL_COLUMNS, _call_item, _call_settled),
    "messages": Feed("messages", _MESSAGE_COLUMNS, _message_item),
    "replies": Feed("replies", _REPLY_COLUMNS, _reply_item),
    "cases": Feed("cases", CASE_COLUMNS, case_item),
}
