"""The desk's board rows from cases made by the real pipeline: the facts of every case
are read together (three queries for the whole board), and each row still gets its
own: the newest missed call's name and outcome, the last text sent to that caller
about that department, the replies linked to that case; most urgent first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import cast

from agent.config.desk import DeskUser
from agent.config.settings import LoadedConfig, Settings
from agent.desk.board import board_rows
from agent.desk.server import DeskServer
from agent.model import InboundText, MessageState, Outcome
from agent.status.view import StatusView
from agent.store import Store
from tests.agent.conftest import call, local
from tests.cases.conftest import pipeline_at

SALES_DID = "5145550101"
REPLY = "oui <script>alert(3)</script>"


@dataclass
class View:
    store: Store
    loaded: LoadedConfig
    now: datetime

    def clock(self) -> datetime:
        return self.now


async def test_each_row_keeps_its_own_call_text_and_replies(
    settings: Settings, store: Store
) -> None:
    """One caller missed Service twice (the newest call's name and outcome show) and
    Sales once; a second caller missed Service. Texts: each (caller, department) its
    own, staff replies left out; the first caller's reply (HTML in it, shown as text)
    is on both of their cases. Sales (10 min SLA) is past due, so first; then Service
    by due time."""
    pipeline, _ = pipeline_at(settings, store, "2026-11-23 10:06")
    await pipeline.accept(call("2026-11-23 10:00", caller_name="ROY A"))
    await pipeline.accept(call("2026-11-23 09:50", caller="4385550144", caller_name="GAGNON"))
    await pipeline.accept(call("2026-11-23 09:52", caller_name="ROY S", dialed=SALES_DID))
    voicemail = Outcome.VOICEMAIL
    await pipeline.accept(call("2026-11-23 10:05", caller_name="ROY B", outcome=voicemail))
    now = local("2026-11-23 10:06")
    for message in await store.claim_due(now, 20):
        await store.finish(
            message.id,
            state=MessageState.SENT,
            sender="gsm",
            started_at=now,
            now=now,
            result="sent",
            body=f"text {message.department} to {message.to_e164}",
        )
    # The policy texts a caller once for both misses; a later Sales text, as a
    # second sender's would be, is the Sales row's own.
    later = now + timedelta(seconds=30)
    for department, template, body in (
        ("sales", "open", "text sales to +15145550123"),
        ("service", "staff_reply", "an advisor's own words"),  # not the board's "text"
    ):
        queued = await store.enqueue(
            call_id=None,
            to_e164="+15145550123",
            department=department,
            template=template,
            language="en",
            dedup_key=f"later-{template}",
            not_before=later,
            expires_at=later + timedelta(hours=1),
            now=later,
        )
        assert queued is not None
        await store.finish(
            queued,
            state=MessageState.SENT,
            sender="gsm",
            started_at=later,
            now=later,
            result="sent",
            body=body,
        )
    await pipeline.inbound(InboundText("+15145550123", REPLY, local("2026-11-23 10:06"), "x"))
    loaded = LoadedConfig(settings=settings, path=Path("ringback.yaml"), sha256="")
    view = cast(StatusView, View(store, loaded, local("2026-11-23 10:07")))
    rows = await board_rows(view, DeskUser(name="chef", role="manager"), "en")
    got = [(r.department, r.caller, r.name, r.misses, r.text, r.replies) for r in rows]
    assert got == [
        ("sales", "+15145550123", "ROY S", 1, "text sales to +15145550123", [REPLY]),
        ("service", "+14385550144", "GAGNON", 1, "text service to +14385550144", []),
        ("service", "+15145550123", "ROY B", 2, "text service to +15145550123", [REPLY]),
    ]
    assert rows[0].overdue and not rows[1].overdue
    assert rows[2].what == "went to voicemail"
    html = DeskServer(view, None).render("board_rows.html.j2", "en", rows=rows)
    assert "<script>" not in html and html.count("oui &lt;script&gt;alert(3)&lt;/script&gt;") == 2
    staff = await board_rows(view, DeskUser(name="ana", departments=["service"]), "en")
    assert [r.department for r in staff] == ["service", "service"]


async def test_a_number_that_takes_no_texts_shows_call_back_only(
    settings: Settings, store: Store
) -> None:
    """The carrier said the caller's number cannot take texts (Twilio 30006): their
    case reads "Call back only" on the board, the other caller's does not, and the
    number is written as people read it, the link keeping the E.164."""
    from agent.model import NumberFact

    pipeline, _ = pipeline_at(settings, store, "2026-11-23 10:06")
    await pipeline.accept(call("2026-11-23 10:00", caller_name="ROY A"))
    await pipeline.accept(call("2026-11-23 10:01", caller="4385550144", caller_name="GAGNON"))
    now = local("2026-11-23 10:06")
    await store.set_number_fact(
        "+15145550123", NumberFact.SMS_INCAPABLE, origin="twilio", now=now, code="30006"
    )
    loaded = LoadedConfig(settings=settings, path=Path("ringback.yaml"), sha256="")
    view = cast(StatusView, View(store, loaded, now))
    rows = await board_rows(view, DeskUser(name="chef", role="manager"), "en")
    assert {r.caller: r.callback_only for r in rows} == {
        "+15145550123": True,
        "+14385550144": False,
    }
    html = DeskServer(view, None).render("board_rows.html.j2", "en", rows=rows)
    assert html.count("Call back only: this number takes no texts") == 1
    assert '<a class="caller" href="tel:+15145550123">+1 514-555-0123</a>' in html
    assert "Taken by: nobody" in html
    assert "<span>0 callbacks</span>" in html
    from dataclasses import replace

    once = DeskServer(view, None).render(
        "board_rows.html.j2", "en", rows=[replace(rows[0], attempts=1)]
    )
    assert "<span>1 callback</span>" in once  # not "1 callbacks"


async def test_the_last_texts_are_found_through_the_callers_numbers(store: Store) -> None:
    """The board's texts query walks the callers' numbers (messages_to), not every
    text the store ever sent (messages_due holds them all under `state = 'sent'`):
    the board's cost must not grow with the store's age."""
    from agent.desk.board import TEXTS_SQL

    plan = await store.fetchall(
        "EXPLAIN QUERY PLAN " + TEXTS_SQL.format(marks="?,?"), ["+15145550123", "+14385550144"]
    )
    details = " ".join(str(step[-1]) for step in plan)
    assert "INDEX messages_to" in details and "messages_due" not in details


def test_a_number_is_written_once_then_remembered() -> None:
    """Every board of every advisor writes the same open cases' numbers: the second
    time a number is read from memory, not parsed again by libphonenumber; a number
    that does not parse stays as written."""
    from agent.cases.staff_words import readable

    readable.cache_clear()
    assert readable("+15145550123") == "+1 514-555-0123"
    assert readable("+15145550123") == "+1 514-555-0123"
    assert readable("12") == "12"
    info = readable.cache_info()
    assert (info.hits, info.misses) == (1, 2)


def test_today_writes_who_reached_whom_as_people_read_numbers(
    settings: Settings, store: Store
) -> None:
    """Today's "who reached whom" writes the caller's number as the board does."""
    from agent.desk.today import Department

    loaded = LoadedConfig(settings=settings, path=Path("ringback.yaml"), sha256="")
    view = cast(StatusView, View(store, loaded, local("2026-11-23 10:07")))
    sales = Department("sales", "Sales", reached=1, reached_by=[("101", "+18175550123")])
    html = DeskServer(view, None).render(
        "today.html.j2",
        "en",
        user=DeskUser(name="chef", role="manager"),
        csrf="x",
        departments=[sales],
    )
    assert "<li>101 → +1 817-555-0123</li>" in html and "+18175550123" not in html


def test_a_miss_of_this_minute_reads_just_now_not_zero_minutes_ago() -> None:
    """Under a minute since the miss reads as people say it, in both languages; then
    minutes, then hours from two hours on."""
    from agent.desk.board import _ago

    assert [_ago(0, "fr"), _ago(0, "en")] == ["à l'instant", "just now"]
    assert [_ago(1, "fr"), _ago(119, "en"), _ago(125, "en")] == [
        "il y a 1 min",
        "119 min ago",
        "2 h ago",
    ]
