"""The fake Twilio's state: every message it holds, how statuses advance, how the list
is filtered and paged. No I/O (`FakeTwilio` in cloud_api.py serves it over HTTP).

A message created through the API starts `queued` (or `accepted` with a Messaging
Service) and moves one step per `advance()`: queued -> sending -> sent -> delivered, or
to `undelivered`/`failed` with the error code chosen for its number (`fail_after`).
`inbound()` plants a reply; `plant()` a message of ours nobody sent through the API.
The list is newest first by `date_sent` (messages not sent yet have none and are left
out by a `DateSent>` filter, as at Twilio), paged with a `PageToken` cursor (the SID
after which the page starts), so items arriving meanwhile do not shift the pages.
Misbehaviours for tests: `repeat_page` (the next page link points at the page just
served, once), `stale` (the next listing shows an older status for a SID).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from urllib.parse import urlencode

_STEPS = {"accepted": "queued", "queued": "sending", "sending": "sent", "sent": "delivered"}
_FAILED_AT_SENDING = {30003, 30005, 30006, 30007, 30034}  # undelivered after `sent`


def rfc2822(when: datetime) -> str:
    return format_datetime(when.astimezone(UTC), usegmt=False).replace("-0000", "+0000")


def parse_iso(text: str) -> datetime | None:
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


@dataclass
class Book:
    account_sid: str
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    messages: list[dict[str, object]] = field(default_factory=list)
    fail_after: dict[str, int] = field(default_factory=dict)  # number -> delivery error
    repeat_page: bool = False
    stale: dict[str, str] = field(default_factory=dict)  # sid -> status shown once
    _sent_at: dict[str, datetime] = field(default_factory=dict)

    def _sid(self, prefix: str = "SM") -> str:
        seed = f"{self.account_sid}{len(self.messages)}{self.clock().isoformat()}"
        return prefix + hashlib.md5(seed.encode()).hexdigest()

    def _message(self, **fields: object) -> dict[str, object]:
        now = self.clock()
        message: dict[str, object] = {
            "sid": self._sid(),
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "messaging_service_sid": None,
            "num_segments": "1",
            "num_media": "0",
            "error_code": None,
            "error_message": None,
            "price": None,
            "price_unit": "USD",
            "date_created": rfc2822(now),
            "date_updated": rfc2822(now),
            "date_sent": None,
            "subresource_uris": {},
        }
        message.update(fields)
        message["uri"] = f"/2010-04-01/Accounts/{self.account_sid}/Messages/{message['sid']}.json"
        self.messages.append(message)
        return message

    def create(self, form: dict[str, str], when: datetime | None = None) -> dict[str, object]:
        message = self._message(
            to=form.get("To"),
            body=form.get("Body", ""),
            direction="outbound-api",
            messaging_service_sid=form.get("MessagingServiceSid"),
            status="queued" if form.get("From") else "accepted",
        )
        message["from"] = form.get("From")
        if when is not None:
            message["date_created"] = rfc2822(when)
        return message

    def plant(self, to: str, from_: str, status: str = "sent") -> dict[str, object]:
        """A message from our number that did not come through our API calls."""
        message = self._message(to=to, body="sent from the console", direction="outbound-api")
        message.update({"from": from_, "status": status})
        self._mark_sent(message)
        return message

    def inbound(self, from_: str, to: str, body: str, media: int = 0) -> dict[str, object]:
        message = self._message(to=to, body=body, direction="inbound", status="received")
        message.update({"from": from_, "num_media": str(media)})
        self._mark_sent(message)
        return message

    def _mark_sent(self, message: dict[str, object]) -> None:
        now = self.clock()
        message["date_sent"] = rfc2822(now)
        self._sent_at[str(message["sid"])] = now

    def advance(self) -> int:
        """Every outbound message not final one step on; how many moved."""
        moved = 0
        for message in self.messages:
            status = str(message.get("status"))
            if message.get("direction") == "inbound" or status not in _STEPS:
                continue
            code = self.fail_after.get(str(message.get("to")))
            if status == "sent" and code in _FAILED_AT_SENDING:
                nxt = "undelivered"
            elif status == "sending" and code is not None and code not in _FAILED_AT_SENDING:
                nxt = "failed"
            else:
                nxt = _STEPS[status]
            message["status"] = nxt
            message["date_updated"] = rfc2822(self.clock())
            if nxt in ("undelivered", "failed"):
                message["error_code"] = code
                message["error_message"] = f"error {code}"
            if nxt == "sent":
                self._mark_sent(message)
            moved += 1
        return moved

    def find(self, sid: str) -> dict[str, object] | None:
        return next((m for m in self.messages if m["sid"] == sid), None)

    # --- the list --------------------------------------------------------------------

    def page(self, query: dict[str, list[str]], path: str) -> dict[str, object]:
        one = {k: v[0] for k, v in query.items()}
        found = self._filtered(one)
        size = max(1, min(1000, int(one.get("PageSize", "50"))))
        start = 0
        token = one.get("PageToken")
        if token:
            after = token.removeprefix("PA")
            start = next((i + 1 for i, m in enumerate(found) if m["sid"] == after), len(found))
        chunk = found[start : start + size]
        number = int(one.get("Page", "0"))
        items = [self._shown(m) for m in chunk]
        next_uri = None
        if start + size < len(found):
            keep = {k: v for k, v in one.items() if k not in ("Page", "PageToken")}
            if self.repeat_page:
                self.repeat_page = False
                cursor, page = token, number  # the same page again
            else:
                cursor, page = "PA" + str(chunk[-1]["sid"]), number + 1
            params = {**keep, "Page": str(page)}
            if cursor:
                params["PageToken"] = cursor
            next_uri = f"{path}?{urlencode(params)}"
        return {
            "messages": items,
            "page": number,
            "page_size": size,
            "start": start,
            "end": start + len(chunk) - 1 if chunk else start,
            "uri": f"{path}?{urlencode(one)}",
            "first_page_uri": f"{path}?{urlencode({'PageSize': size, 'Page': 0})}",
            "previous_page_uri": None,
            "next_page_uri": next_uri,
        }

    def _shown(self, message: dict[str, object]) -> dict[str, object]:
        older = self.stale.pop(str(message["sid"]), None)
        if older is None:
            return dict(message)
        return {**message, "status": older, "error_code": None}

    def _filtered(self, one: dict[str, str]) -> list[dict[str, object]]:
        since = parse_iso(one["DateSent>"]) if "DateSent>" in one else None
        found = []
        for message in self.messages:
            if "To" in one and message.get("to") != one["To"]:
                continue
            if "From" in one and message.get("from") != one["From"]:
                continue
            if since is not None:
                sent = self._sent_at.get(str(message["sid"]))
                if sent is None or sent < since:
                    continue
            found.append(message)
        if since is None:
            return list(reversed(found))  # newest created first, as the look-up expects
        return sorted(found, key=lambda m: self._sent_at[str(m["sid"])], reverse=True)
