"""Posts to staff chat webhooks: Microsoft Teams (Workflows, Adaptive Card), Slack,
Google Chat, or ringback's own signed JSON.

A notice is a title, lines of text, facts (label, value) and an optional link. Each
format carries the same words; user data (a caller's name, a reply) is escaped where
the format has markup. The `json` format is signed: `X-Ringback-Timestamp` (Unix
seconds) and `X-Ringback-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`
with the channel's secret, so the receiver can refuse forgeries and replays. The
managers' alert and digest webhooks (agent/report/watch.py) are signed the same way,
through `post_body`, with the manager's `webhook_secret`.
`post` returns a `Delivery` and raises nothing but CancelledError.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from agent.client_tls import client_tls
from agent.config.staff import WebhookChannel
from agent.send.mail import Delivery

if TYPE_CHECKING:
    import httpx

TIMEOUT_SECONDS, CONNECT_SECONDS = 15.0, 5.0


@dataclass(frozen=True, slots=True)
class Notice:
    kind: str  # case_opened, reply, escalation, morning_list, report...
    title: str
    lines: list[str] = field(default_factory=list)
    facts: list[tuple[str, str]] = field(default_factory=list)
    link: str | None = None
    data: dict[str, Any] = field(default_factory=dict)  # the json format's fields


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def payload(fmt: str, notice: Notice) -> dict[str, Any]:
    text = "\n".join(notice.lines)
    if fmt == "teams":
        body: list[dict[str, Any]] = [
            {"type": "TextBlock", "text": notice.title, "weight": "Bolder", "wrap": True},
            *({"type": "TextBlock", "text": line, "wrap": True} for line in notice.lines),
        ]
        if notice.facts:
            body.append(
                {"type": "FactSet", "facts": [{"title": k, "value": v} for k, v in notice.facts]}
            )
        card: dict[str, Any] = {
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard",
            "version": "1.4",
            "body": body,
        }
        if notice.link:
            card["actions"] = [{"type": "Action.OpenUrl", "title": "Open", "url": notice.link}]
        return {
            "type": "message",
            "attachments": [
                {
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "contentUrl": None,
                    "content": card,
                }
            ],
        }
    if fmt == "slack":
        lines = [f"*{_slack_escape(notice.title)}*", *(_slack_escape(x) for x in notice.lines)]
        lines += [f"{_slack_escape(k)}: {_slack_escape(v)}" for k, v in notice.facts]
        if notice.link:
            lines.append(f"<{notice.link}|Open>")
        return {
            "text": _slack_escape(notice.title),
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}}],
        }
    if fmt == "google_chat":
        lines = [f"*{notice.title}*", *notice.lines, *(f"{k}: {v}" for k, v in notice.facts)]
        if notice.link:
            lines.append(f"<{notice.link}|Open>")
        return {"text": "\n".join(lines)}
    return {
        "kind": notice.kind,
        "title": notice.title,
        "text": text,
        "facts": dict(notice.facts),
        "link": notice.link,
        **notice.data,
    }


async def post(
    channel: WebhookChannel, notice: Notice, client: httpx.AsyncClient | None = None
) -> Delivery:
    body = json.dumps(payload(channel.format, notice), ensure_ascii=False).encode()
    return await post_body(
        channel.url, body, channel.signing_key(), client, teams=channel.format == "teams"
    )


async def post_body(
    url: str,
    body: bytes,
    key: SecretStr | None,
    client: httpx.AsyncClient | None = None,
    *,
    teams: bool = False,
) -> Delivery:
    """POST a JSON body, signed with `key` when there is one (the headers of the
    module's docstring); every webhook ringback sends goes through here."""
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "ringback"}
    if key is not None:
        stamp = str(int(time.time()))
        headers["X-Ringback-Timestamp"] = stamp
        headers["X-Ringback-Signature"] = signature(key.get_secret_value(), stamp, body)
    import httpx  # at the first webhook, not at the daemon's start (test_lean_start.py)

    try:
        if client is None:
            timeout = httpx.Timeout(TIMEOUT_SECONDS, connect=CONNECT_SECONDS)
            async with httpx.AsyncClient(
                timeout=timeout, follow_redirects=False, verify=client_tls()
            ) as own:
                response = await own.post(url, content=body, headers=headers)
        else:
            response = await client.post(url, content=body, headers=headers)
    except httpx.TimeoutException:
        return Delivery(False, f"webhook {_where(url)} did not answer in time", retry=True)
    except httpx.HTTPError as err:
        return Delivery(
            False, f"webhook {_where(url)} unreachable: {type(err).__name__}", retry=True
        )
    if response.is_success:
        if teams and "429" in response.text:  # Teams reports throttling in the body
            return Delivery(False, "Teams is throttling this webhook", retry=True)
        return Delivery(True)
    retry = response.status_code == 429 or response.status_code >= 500
    detail = " ".join(response.text.split())[:120]
    return Delivery(
        False,
        f"webhook {_where(url)} answered HTTP {response.status_code} {detail}".rstrip(),
        retry=retry,
    )


def _where(url: str) -> str:
    """Scheme and host only: a webhook URL's path and query are its secret."""
    import httpx

    parts = httpx.URL(url)
    return f"{parts.scheme}://{parts.host}"
