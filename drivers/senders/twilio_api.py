"""Twilio Messages API, the wire side: build the create form and the lookup query,
read the answers. Pure functions, no I/O."""

from __future__ import annotations

import email.utils
import re
from collections.abc import Mapping
from datetime import datetime

from agent.model import OutgoingText
from drivers.senders.twilio_config import TwilioConfig

_SID_RE = re.compile(r"^(SM|MM)[0-9a-fA-F]{32}$")
LOOKUP_PAGE_SIZE = 50


def messages_path(config: TwilioConfig) -> str:
    return f"/2010-04-01/Accounts/{config.account_sid}/Messages.json"


def create_form(config: TwilioConfig, text: OutgoingText) -> dict[str, str]:
    """The form fields of one create request (application/x-www-form-urlencoded)."""
    form = {
        "To": text.to_e164,
        "Body": text.body,
        "ValidityPeriod": str(config.validity_period_seconds),
        "Attempt": str(max(1, text.attempt)),
    }
    if config.from_ is not None:
        form["From"] = config.from_
    else:
        assert config.messaging_service_sid is not None  # the config guarantees one
        form["MessagingServiceSid"] = config.messaging_service_sid
    callback = config.status_callback or config.webhook_url
    if callback is not None:
        form["StatusCallback"] = str(callback)
    return form


def lookup_params(text: OutgoingText) -> dict[str, str]:
    """Query of the reconciliation lookup: the newest messages to this number.

    No `DateSent>` filter: a message still queued at Twilio has no date_sent yet and
    would be missed; the match checks `date_created` instead."""
    return {"To": text.to_e164, "PageSize": str(LOOKUP_PAGE_SIZE)}


def error_code(data: Mapping[str, object] | None) -> int | None:
    """Twilio's numeric error `code` of an error body, if it carries one."""
    code = data.get("code") if data else None
    if isinstance(code, bool):
        return None
    if isinstance(code, int):
        return code
    if isinstance(code, str) and code.isdigit():
        return int(code)
    return None


def message_sid(data: Mapping[str, object] | None) -> str | None:
    """The `sid` of a Message resource when it looks like one (SM... or MM...)."""
    sid = data.get("sid") if data else None
    return sid if isinstance(sid, str) and _SID_RE.match(sid) else None


def find_earlier(
    data: Mapping[str, object] | None,
    config: TwilioConfig,
    text: OutgoingText,
    since: datetime,
) -> str | None:
    """The sid of a message in a list answer that is this text: same `To`, same sender,
    same body (a trial account's prefix allowed), created at or after `since`."""
    messages = data.get("messages") if data else None
    if not isinstance(messages, list):
        return None
    for item in messages:
        if isinstance(item, dict) and _is_same(item, config, text, since):
            return message_sid(item)
    return None


def _is_same(
    item: Mapping[str, object], config: TwilioConfig, text: OutgoingText, since: datetime
) -> bool:
    body = item.get("body")
    if item.get("to") != text.to_e164 or not isinstance(body, str):
        return False
    if not body.endswith(text.body) or item.get("direction") not in (None, "outbound-api"):
        return False
    if config.from_ is not None and item.get("from") not in (None, config.from_):
        return False
    service = config.messaging_service_sid
    if service is not None and item.get("messaging_service_sid") not in (None, service):
        return False
    created = _rfc2822(item.get("date_created"))
    return created is not None and created >= since and message_sid(item) is not None


def _rfc2822(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo is not None else None
