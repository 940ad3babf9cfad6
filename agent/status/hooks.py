"""Providers' callbacks posted to the status API: `POST /hooks/<type>/<sender name>`.

Twilio's status callbacks and inbound messages reach the agent when a URL can (a
relay of the vendor's cloud to the box): the form is handed to the sender of that name
(`drivers.base.WebhookReceiver`), which checks the provider's signature itself (the
bearer token of the API does not apply: Twilio cannot send it) and answers the status:
200 taken (a replay too: taken, changes nothing), 403 forged, 400 not understood,
404 no such sender or not set up for webhooks. Twilio wants an empty TwiML answer.
"""

from __future__ import annotations

import logging

from aiohttp import web

from agent.status.view import StatusView
from drivers.base import WebhookReceiver

log = logging.getLogger(__name__)

HOOKS_PREFIX = "/hooks/"
_EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
_REASON = {403: "webhook_forged", 400: "bad_request", 404: "not_found"}


def receiver(daemon: StatusView, kind: str, name: str) -> WebhookReceiver | None:
    runtime = daemon.runtime
    return runtime.webhook_receiver(kind, name) if runtime is not None else None


async def handle(daemon: StatusView, request: web.Request) -> tuple[int, str | None]:
    """The HTTP status of one callback and the reject reason to count (None: taken)."""
    target = receiver(daemon, request.match_info["type"], request.match_info["name"])
    if target is None:
        return 404, "not_found"
    if request.content_type != "application/x-www-form-urlencoded":
        return 400, "bad_request"
    posted = await request.post()
    form = {k: v for k, v in posted.items() if isinstance(v, str)}
    headers = {k.lower(): v for k, v in request.headers.items()}
    try:
        status = await target.webhook(form, headers)
    except Exception:  # a driver bug must not break the API
        log.exception("driver=%s webhook failed", target.name)
        return 500, None
    return status, _REASON.get(status)


def answer(status: int) -> web.Response:
    if status == 200:
        return web.Response(status=200, text=_EMPTY_TWIML, content_type="text/xml")
    return web.json_response({"error": _REASON.get(status, "error")}, status=status)
