"""Staff notifications of the cases, delivered by the notifier on a frozen clock to a
real SMTP server (aiosmtpd: STARTTLS, login) and a local webhook receiver that checks
ringback's signature: a new case after the grace delay, a reply with its text, an
escalation to the managers too, the morning list once a day; failures retried with
backoff from the store, shown in the status counts and by doctor."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from agent.cases.notify import MAX_RETRY, Notifier
from agent.cases.sweep import sweep_once
from agent.config.settings import Settings
from agent.model import InboundText
from agent.ops.doctor_system import notifications as doctor_notifications
from agent.send.hooks import signature
from agent.store import Store
from agent.store.numbers import _TEXTS_SINCE
from tests.agent.conftest import SettingsFactory, call, local
from tests.cases.conftest import SLA, pipeline_at
from tests.peers.smtp import PASSWORD, USER, SmtpPeer

SECRET = "hook-secret"
NUMBER = "+15145550123"
SHOWN = "+1 514-555-0123"


class Receiver:
    """A webhook receiver that refuses a bad or stale signature (403), notes whether
    a post was signed and answers `status`."""

    def __init__(self) -> None:
        self.got: list[dict[str, Any]] = []
        self.refused = 0
        self.status = 200
        self.url = ""

    async def hook(self, request: web.Request) -> web.Response:
        body = await request.read()
        stamp = request.headers.get("X-Ringback-Timestamp", "")
        sent = request.headers.get("X-Ringback-Signature", "")
        if (stamp or sent) and (
            sent != signature(SECRET, stamp, body) or abs(time.time() - int(stamp or 0)) > 300
        ):
            self.refused += 1
            return web.Response(status=403, text="bad signature")
        if self.status != 200:
            return web.Response(status=self.status, text="maintenance")
        self.got.append({"path": request.path, "signed": bool(sent), **json.loads(body)})
        return web.Response(text="ok")


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    peer = Receiver()
    app = web.Application()
    app.router.add_post("/{name}", peer.hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    peer.url = f"http://127.0.0.1:{port}"
    yield peer
    await runner.cleanup()


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[SmtpPeer]:
    with SmtpPeer(tmp_path) as peer:
        yield peer


def smtp_section(peer: SmtpPeer, password: str = PASSWORD) -> dict[str, Any]:
    return {
        "host": "127.0.0.1",
        "port": peer.port,
        "security": "starttls",
        "username": USER,
        "password": password,
        "from_address": "ringback@garage.example",
        "ca_file": str(peer.cert),
        "timeout_seconds": 10,
    }


def with_channels(
    make_settings: SettingsFactory,
    smtp: SmtpPeer,
    receiver: Receiver,
    password: str = PASSWORD,
    **sections: Any,
) -> Settings:
    notify = [
        {"type": "email", "to": ["service@garage.example"]},
        {"type": "webhook", "url": f"{receiver.url}/service", "format": "json", "secret": SECRET},
    ]
    departments = {**SLA["departments"], "service": {"sla_minutes": 30, "notify": notify}}
    return make_settings(
        departments=departments,
        smtp=smtp_section(smtp, password),
        desk={"listen": "127.0.0.1:8181"},
        **sections,
    )


def body(message: Any) -> str:
    """The text part of a mail the SMTP peer received (parsed with the default policy)."""
    assert isinstance(message, EmailMessage)
    return str(message.get_content())


async def states(store: Store) -> list[tuple[str | None, str, int]]:
    rows = await store.fetchall(
        "SELECT target, state, attempts FROM case_notifications ORDER BY id"
    )
    return [(r[0], r[1], r[2]) for r in rows]


async def test_a_new_case_reaches_mail_and_signed_webhook_after_the_grace_delay(
    make_settings: SettingsFactory,
    store: Store,
    smtp: SmtpPeer,
    receiver: Receiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Nothing before sms.grace_seconds; then the department's address gets a mail
    with the whole number, the name, the outcome in words and the desk link, and the
    webhook a signed JSON notice; the logs carry neither the number nor the name."""
    caplog.set_level(logging.DEBUG, logger="agent")
    settings = with_channels(make_settings, smtp, receiver)
    pipeline, clock = pipeline_at(settings, store, "2026-11-23 10:00")
    await pipeline.accept(call("2026-11-23 10:00", caller_name="Jean Tremblay"))
    notifier = Notifier(settings, store, clock)
    clock.advance(60)
    assert await notifier.run_once() == 0
    assert smtp.messages == [] and receiver.got == []
    clock.advance(31)
    assert await notifier.run_once() == 2
    mail = smtp.messages[0]
    assert smtp.recipients == [["service@garage.example"]]
    assert SHOWN in mail["Subject"] and "Jean Tremblay" in mail["Subject"]
    text = body(mail)
    assert "personne n'a répondu" in text
    assert "http://127.0.0.1:8181/desk/cases/1" in text
    hook = receiver.got[0]
    assert hook["path"] == "/service" and hook["kind"] == "opened" and hook["signed"]
    assert hook["caller"] == NUMBER and hook["caller_name"] == "Jean Tremblay"
    assert hook["outcome"] == "missed" and hook["case_id"] == 1
    assert await states(store) == [
        (None, "fanned", 0),
        ("channel:0", "sent", 1),
        ("channel:1", "sent", 1),
    ]
    assert await notifier.run_once() == 0  # sent once
    logged = caplog.text
    assert "5550123" not in logged and "Tremblay" not in logged
    assert "sent to channel:0" in logged


async def test_a_wrong_password_is_named_retried_later_and_blocks_nothing(
    make_settings: SettingsFactory, store: Store, smtp: SmtpPeer, receiver: Receiver
) -> None:
    """A refused login is stored as "wrong username or password" (never the password),
    the webhook and the caller's text go on regardless, status and doctor name the
    channel, and the mail is tried again an hour later: with the password corrected
    (a reload), it arrives."""
    settings = with_channels(make_settings, smtp, receiver, password="not-it")
    pipeline, clock = pipeline_at(settings, store, "2026-11-23 10:00")
    await pipeline.accept(call("2026-11-23 10:00"))
    clock.advance(120)
    notifier = Notifier(settings, store, clock)
    assert await notifier.run_once() == 2
    assert smtp.messages == [] and len(receiver.got) == 1
    assert await states(store) == [
        (None, "fanned", 0),
        ("channel:0", "pending", 1),
        ("channel:1", "sent", 1),
    ]
    texts = await store.fetchall("SELECT template, state FROM messages")
    assert texts == [("open", "pending")]  # the caller's own text is untouched
    status = await store.notification_status()
    assert status["queued"] == 1 and status["retrying"] == 1 and status["failed"] == 0
    error = status["last_error"]
    assert error["channel"] == "channel:0" and error["department"] == "service"
    assert "wrong username or password" in error["message"]
    assert "not-it" not in json.dumps(status) and PASSWORD not in json.dumps(status)
    found = doctor_notifications(settings.storage.path)
    assert "departments.service channel:0" in found[0].message
    assert "wrong username or password" in found[0].message and found[0].level == "warn"
    logins = len(smtp.logins)
    clock.advance(MAX_RETRY.total_seconds() - 60)
    assert await notifier.run_once() == 0 and len(smtp.logins) == logins  # not yet
    clock.advance(61)
    fixed = with_channels(make_settings, smtp, receiver)
    assert await Notifier(fixed, store, clock).run_once() == 1
    assert len(smtp.messages) == 1 and SHOWN in smtp.messages[0]["Subject"]
    assert (await store.notification_status())["queued"] == 0
    assert doctor_notifications(settings.storage.path)[0].level == "ok"


async def test_a_5xx_webhook_is_retried_with_backoff(
    make_settings: SettingsFactory, store: Store, smtp: SmtpPeer, receiver: Receiver
) -> None:
    """A 503 keeps the webhook row pending (attempt 1, its error stored, due a minute
    later); the next try after that delivers it, and the mail is not sent twice."""
    settings = with_channels(make_settings, smtp, receiver)
    pipeline, clock = pipeline_at(settings, store, "2026-11-23 10:00")
    await pipeline.accept(call("2026-11-23 10:00"))
    clock.advance(120)
    receiver.status = 503
    notifier = Notifier(settings, store, clock)
    await notifier.run_once()
    assert await states(store) == [
        (None, "fanned", 0),
        ("channel:0", "sent", 1),
        ("channel:1", "pending", 1),
    ]
    error = (await store.notification_status())["last_error"]
    assert "HTTP 503" in error["message"] and error["channel"] == "channel:1"
    receiver.status = 200
    clock.advance(30)
    assert await notifier.run_once() == 0  # backoff not over
    clock.advance(40)
    assert await notifier.run_once() == 1
    assert len(receiver.got) == 1 and len(smtp.messages) == 1
    assert await states(store) == [
        (None, "fanned", 0),
        ("channel:0", "sent", 1),
        ("channel:1", "sent", 2),
    ]


async def test_a_reply_goes_to_staff_with_its_text_but_never_into_logs(
    make_settings: SettingsFactory,
    store: Store,
    smtp: SmtpPeer,
    receiver: Receiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The caller's reply reaches the mail and the webhook word for word; no log line
    holds it."""
    caplog.set_level(logging.DEBUG, logger="agent")
    settings = with_channels(make_settings, smtp, receiver)
    pipeline, clock = pipeline_at(settings, store, "2026-11-23 10:00")
    await pipeline.accept(call("2026-11-23 10:00"))
    clock.advance(120)
    notifier = Notifier(settings, store, clock)
    await notifier.run_once()
    said = "Rappelez-moi vers 15h SVP"
    await pipeline.inbound(InboundText(NUMBER, said, local("2026-11-23 10:03"), "dry-run"))
    assert await notifier.run_once() == 2
    assert said in body(smtp.messages[1])
    assert receiver.got[1]["kind"] == "reply" and receiver.got[1]["reply"] == said
    assert said not in caplog.text and "15h" not in caplog.text


async def test_an_escalation_also_reaches_the_managers(
    make_settings: SettingsFactory, store: Store, smtp: SmtpPeer, receiver: Receiver
) -> None:
    """Past its SLA with no call back: the department's channels and the manager
    covering it (e-mail and webhook, signed with the manager's webhook_secret as staff
    webhooks are) are told; a manager of another department not."""
    managers = [
        {"name": "Service boss", "departments": ["service"], "email": "boss@garage.example",
         "webhook_url": f"{receiver.url}/boss", "webhook_secret": SECRET},
        {"name": "Sales boss", "departments": ["sales"], "email": "sales.boss@garage.example"},
    ]  # fmt: skip
    settings = with_channels(make_settings, smtp, receiver, alerts={"managers": managers})
    pipeline, clock = pipeline_at(settings, store, "2026-11-23 10:00")
    await pipeline.accept(call("2026-11-23 10:00"))
    clock.advance(120)
    notifier = Notifier(settings, store, clock)
    await notifier.run_once()
    clock.advance(40 * 60)
    escalated, _ = await sweep_once(store, settings, clock())
    assert escalated == [1]
    assert await notifier.run_once() == 4
    assert smtp.recipients[1:] == [["service@garage.example"], ["boss@garage.example"]]
    assert all(SHOWN in m["Subject"] for m in smtp.messages[1:])
    assert [(g["path"], g["kind"]) for g in receiver.got[1:]] == [
        ("/service", "escalated"),
        ("/boss", "escalated"),
    ]
    assert receiver.got[2]["signed"] and receiver.refused == 0


async def test_the_morning_list_goes_once_a_day_across_restarts(
    make_settings: SettingsFactory, store: Store, smtp: SmtpPeer, receiver: Receiver
) -> None:
    """From alerts.digest_at the department's channels get its open cases (count,
    oldest, past SLA) once that local day, even when the notifier starts again."""
    settings = with_channels(make_settings, smtp, receiver, alerts={"digest_at": "07:30"})
    pipeline, clock = pipeline_at(settings, store, "2026-11-23 10:00")
    await pipeline.accept(call("2026-11-23 10:00", caller="5145550111"))
    await pipeline.accept(call("2026-11-23 11:00", caller="5145550122"))
    clock.now = local("2026-11-24 07:00")
    notifier = Notifier(settings, store, clock)
    assert await notifier.morning_list_once() == 0  # before digest_at
    await notifier.run_once()
    before = len(smtp.messages)
    clock.now = local("2026-11-24 07:31")
    assert await notifier.morning_list_once() == 1
    assert await notifier.morning_list_once() == 0
    assert await Notifier(settings, store, clock).morning_list_once() == 0  # a restart
    assert await notifier.run_once() == 2
    morning = smtp.messages[before]
    assert "2 client(s)" in morning["Subject"]
    text = body(morning)
    assert "Délai dépassé : 2" in text and "+1 514-555-0111" in text
    listed = receiver.got[-1]
    assert listed["kind"] == "morning_list" and listed["open"] == 2 and listed["past_sla"] == 2
    clock.now = local("2026-11-25 07:31")
    assert await notifier.morning_list_once() == 1  # the next day


async def test_a_staff_text_goes_through_the_outbox_outside_the_callers_caps(
    make_settings: SettingsFactory, store: Store
) -> None:
    """An sms channel queues a `staff_notice` text with the whole number to the staff phone;
    the site's hourly budget of texts to callers does not count it."""
    departments = {
        **SLA["departments"],
        "service": {"sla_minutes": 30, "notify": [{"type": "sms", "to": "+15145550160"}]},
    }
    settings = make_settings(departments=departments)
    pipeline, clock = pipeline_at(settings, store, "2026-11-23 10:00")
    await pipeline.accept(call("2026-11-23 10:00"))
    clock.advance(120)
    assert await Notifier(settings, store, clock).run_once() == 1
    rows = await store.fetchall("SELECT to_e164, template, body FROM messages ORDER BY id")
    assert [(r[0], r[1]) for r in rows] == [(NUMBER, "open"), ("+15145550160", "staff_notice")]
    assert SHOWN in rows[1][2]
    assert await store.scalar(_TEXTS_SINCE, ("2026-01-01",)) == 1
