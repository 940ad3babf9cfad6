"""Staff e-mail through a real SMTP server (aiosmtpd: STARTTLS, then AUTH) and chat
webhooks posted to a real local HTTP server that checks the signature."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from agent.config.staff import WebhookChannel
from agent.send.hooks import Notice, payload, post, signature
from agent.send.mail import message, send_mail
from tests.peers.smtp import PASSWORD, SmtpPeer

NOTICE = Notice(
    kind="case_opened",
    title="Missed call — Service",
    lines=["<b>Tremblay & fils</b> called at 08:12, hung up in the queue."],
    facts=[("Caller", "+15145550123"), ("Calls", "2")],
    link="http://desk.garage.example/desk/cases/12",
    data={"case_id": 12},
)


async def test_mail_arrives_over_starttls_with_login(tmp_path: Path) -> None:
    """The message reaches the server after STARTTLS and a good login, with its
    subject, recipients and both the text and HTML parts."""
    with SmtpPeer(tmp_path) as smtp:
        config = smtp.config()
        msg = message(config, ["service@garage.example"], "2 open cases", "text", "<p>html</p>")
        result = await send_mail(config, msg)
        assert result.ok, result.reason
        assert smtp.logins == ["advisors@garage.example"]
        assert smtp.recipients == [["service@garage.example"]]
        assert smtp.messages[0]["Subject"] == "2 open cases"
        assert smtp.messages[0].is_multipart()


async def test_a_wrong_password_is_named_and_not_retried(tmp_path: Path) -> None:
    """535 becomes "wrong username or password", not retried, and the password stays out."""
    with SmtpPeer(tmp_path) as smtp:
        config = smtp.config(password="not-it")
        result = await send_mail(config, message(config, ["a@garage.example"], "s", "t"))
    assert not result.ok and not result.retry
    assert "wrong username or password" in result.reason and "535" in result.reason
    assert "not-it" not in result.reason and PASSWORD not in result.reason


async def test_a_temporary_refusal_is_retried(tmp_path: Path) -> None:
    """A 4xx answer to the message is worth trying again later."""
    with SmtpPeer(tmp_path) as smtp:
        smtp.answer_data = "451 4.3.0 mailbox busy, try later"
        config = smtp.config()
        result = await send_mail(config, message(config, ["a@garage.example"], "s", "t"))
    assert not result.ok and result.retry and "451" in result.reason


async def test_a_server_that_is_not_there_is_retried(tmp_path: Path) -> None:
    with SmtpPeer(tmp_path) as smtp:
        config = smtp.config(port=1)
    result = await send_mail(config, message(config, ["a@garage.example"], "s", "t"))
    assert not result.ok and result.retry and "127.0.0.1:1" in result.reason


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[str, list[Any]]]:
    """A webhook receiver that checks ringback's signature like a careful one would."""
    got: list[Any] = []
    secret = "hook-secret"

    async def hook(request: web.Request) -> web.Response:
        body = await request.read()
        stamp = request.headers.get("X-Ringback-Timestamp", "")
        sent = request.headers.get("X-Ringback-Signature", "")
        if stamp and (
            sent != signature(secret, stamp, body) or abs(time.time() - int(stamp)) > 300
        ):
            return web.Response(status=403, text="bad signature")
        got.append((request.path, dict(request.headers), json.loads(body)))
        if request.path == "/down":
            return web.Response(status=503, text="maintenance")
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/{name}", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}", got
    await runner.cleanup()


async def test_json_webhook_is_signed_and_verified(receiver: tuple[str, list[Any]]) -> None:
    """The receiver recomputes HMAC-SHA256 over "<timestamp>.<body>" and accepts it."""
    base, got = receiver
    channel = WebhookChannel(
        type="webhook", url=f"{base}/json", format="json", secret="hook-secret"
    )
    result = await post(channel, NOTICE)
    assert result.ok, result.reason
    _path, headers, body = got[0]
    assert headers["X-Ringback-Signature"].startswith("sha256=")
    assert body["kind"] == "case_opened" and body["case_id"] == 12


async def test_a_forged_signature_is_refused(receiver: tuple[str, list[Any]]) -> None:
    """Signed with another secret: the receiver answers 403, reported, not retried."""
    base, got = receiver
    channel = WebhookChannel(type="webhook", url=f"{base}/json", format="json", secret="other")
    result = await post(channel, NOTICE)
    assert not result.ok and not result.retry and "403" in result.reason and got == []


async def test_a_5xx_is_retried_and_the_url_secret_kept_out(
    receiver: tuple[str, list[Any]],
) -> None:
    base, _ = receiver
    channel = WebhookChannel(type="webhook", url=f"{base}/down?token=s3cr3t", format="slack")
    result = await post(channel, NOTICE)
    assert not result.ok and result.retry and "503" in result.reason
    assert "s3cr3t" not in result.reason


def test_formats_carry_the_same_words_escaped() -> None:
    """Teams gets an Adaptive Card, Slack mrkdwn with <, > and & escaped, Google Chat text."""
    teams = payload("teams", NOTICE)
    card = teams["attachments"][0]["content"]
    assert card["type"] == "AdaptiveCard" and card["actions"][0]["url"] == NOTICE.link
    slack = payload("slack", NOTICE)["blocks"][0]["text"]["text"]
    assert "&lt;b&gt;Tremblay &amp; fils&lt;/b&gt;" in slack and "<b>" not in slack
    chat = payload("google_chat", NOTICE)["text"]
    assert chat.startswith("*Missed call — Service*") and "Caller: +15145550123" in chat
