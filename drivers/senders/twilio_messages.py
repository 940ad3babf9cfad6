"""Twilio Message resources (a list item, a webhook's form) read as ringback's words:
a `DeliveryReport` for a text we sent, an `InboundText` for a text sent to us. Pure:
the poll and the webhooks share these, so both paths decide alike.

A list item carries `sid`, `direction`, `status`, `error_code`, `date_sent`, `from`,
`to`, `body`, `num_media`; a status callback `MessageSid`, `MessageStatus`,
`ErrorCode`; an inbound message `MessageSid`, `From`, `To`, `Body`, `NumMedia`.
What does not fit (no SID, a status Twilio does not document) is None, counted by
the caller.
"""

from __future__ import annotations

import email.utils
import re
from collections.abc import Mapping
from datetime import UTC, datetime

from agent.model import DeliveryReport, InboundText
from drivers.senders.twilio_codes import STATUSES, fact_of

_SID = re.compile(r"^(SM|MM)[0-9a-fA-F]{32}$")
_BODY_LIMIT = 1600


def sid_of(value: object) -> str | None:
    return value if isinstance(value, str) and _SID.match(value) else None


def when(value: object) -> datetime | None:
    """A Twilio RFC 2822 date (`Wed, 02 Dec 2026 01:00:00 +0000`), None if absent."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo is not None else None


def code_of(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value or None
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip()) or None
    return None


def report(
    sender: str, sid: str, status: object, code: int | None, at: datetime
) -> DeliveryReport | None:
    """The report for a status of a text we sent; None for a status Twilio does not
    document (or one of an inbound message)."""
    state = STATUSES.get(status) if isinstance(status, str) else None
    if state is None:
        return None
    fact, detail = fact_of(code)
    return DeliveryReport(sender, sid, state, at, str(code) if code else None, fact, detail)


def item_report(sender: str, item: Mapping[str, object], now: datetime) -> DeliveryReport | None:
    sid = sid_of(item.get("sid"))
    if sid is None:
        return None
    at = when(item.get("date_updated")) or when(item.get("date_sent")) or now
    return report(sender, sid, item.get("status"), code_of(item.get("error_code")), at)


def form_report(sender: str, form: Mapping[str, str], now: datetime) -> DeliveryReport | None:
    sid = sid_of(form.get("MessageSid") or form.get("SmsSid"))
    status = form.get("MessageStatus") or form.get("SmsStatus")
    if sid is None:
        return None
    return report(sender, sid, status, code_of(form.get("ErrorCode")), now)


def inbound(
    sender: str,
    sid: str,
    from_: object,
    to: object,
    body: object,
    media: object,
    at: datetime,
) -> InboundText | None:
    if not isinstance(from_, str) or not from_:
        return None
    text = body if isinstance(body, str) else ""
    count = code_of(media) or 0
    return InboundText(
        from_, text[:_BODY_LIMIT], at, sender, sid, to if isinstance(to, str) else None, count
    )


def item_inbound(sender: str, item: Mapping[str, object], now: datetime) -> InboundText | None:
    sid = sid_of(item.get("sid"))
    if sid is None:
        return None
    at = when(item.get("date_sent")) or when(item.get("date_created")) or now
    return inbound(
        sender, sid, item.get("from"), item.get("to"), item.get("body"), item.get("num_media"), at
    )


def form_inbound(sender: str, form: Mapping[str, str], now: datetime) -> InboundText | None:
    sid = sid_of(form.get("MessageSid") or form.get("SmsSid"))
    if sid is None:
        return None
    return inbound(
        sender, sid, form.get("From"), form.get("To"), form.get("Body"), form.get("NumMedia"), now
    )


def is_inbound(item: Mapping[str, object]) -> bool:
    return item.get("direction") == "inbound"
