"""The weekly report e-mail: the report page reaches the managers who asked for it,
through a real SMTP server (aiosmtpd, STARTTLS + login), once a week across restarts,
and a failed send is recorded with its reason and tried again."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from agent.config.settings import Settings, load_text
from agent.report.history import HistorySpec, write_history_file
from agent.report.watch import AlertWatcher
from agent.report.weekly import period, weekly_reports_once
from agent.report.words import long_date
from agent.store import Store
from tests.agent.conftest import DEALERSHIP, merged
from tests.peers.smtp import PASSWORD, USER, SmtpPeer
from tests.report.conftest import MONDAY, local


def settings(tmp_path: Path, smtp: SmtpPeer, password: str = PASSWORD) -> Settings:
    alerts = {
        "digest_at": "07:30",
        "weekly_report_day": "mon",
        "managers": [
            {"name": "Service manager", "email": "sm@garage.example", "weekly_report": True},
            {"name": "Owner", "email": "owner@garage.example"},  # no weekly report asked
        ],
    }
    smtp_section: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": smtp.port,
        "username": USER,
        "password": password,
        "from_address": "ringback@garage.example",
        "ca_file": str(smtp.cert),
    }
    data = merged(
        DEALERSHIP,
        {"alerts": alerts, "smtp": smtp_section, "storage": {"path": str(tmp_path / "r.db")}},
    )
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    return load_text(text, tmp_path / "ringback.yaml").settings


async def test_the_weekly_report_goes_out_once(tmp_path: Path) -> None:
    """Monday 08:00: the service manager gets the page of the last eight weeks, HTML
    and text, both in the site's French; a second check (or a restart) the same week
    sends nothing more."""
    write_history_file(str(tmp_path / "r.db"), HistorySpec(end=MONDAY, days=70, calls_per_day=60))
    with SmtpPeer(tmp_path) as smtp:
        config = settings(tmp_path, smtp)
        async with Store(config.storage.path) as store:
            sunday_night = local(f"{MONDAY - timedelta(days=1)} 23:00")
            assert await weekly_reports_once(config, store, sunday_night) == []
            early = local(f"{MONDAY} 07:00")
            assert await weekly_reports_once(config, store, early) == []
            done = await weekly_reports_once(config, store, local(f"{MONDAY} 08:00"))
            assert [(m.name, d.ok) for m, d in done] == [("Service manager", True)]
            assert await weekly_reports_once(config, store, local(f"{MONDAY} 09:00")) == []
            state = await store.scalar(
                "SELECT webhook_state FROM alerts WHERE kind = 'weekly_report'"
            )
    assert state == "sent"
    assert smtp.recipients == [["sm@garage.example"]]
    mail = smtp.messages[0]
    assert "semaine du 16 nov." in mail["Subject"]  # a Quebec site reads French
    parts = {p.get_content_type(): p.get_payload(decode=True) for p in mail.walk()}
    html = parts["text/html"].decode()  # type: ignore[union-attr]
    assert 'id="compare"' in html and "Erlang" in html
    text = parts["text/plain"].decode()  # type: ignore[union-attr]
    until = MONDAY - timedelta(days=1)
    assert text.startswith("Rapport ringback — ")
    assert f"au {long_date(until, 'fr')} inclusivement" in text
    assert re.search(r"^  appels manqués, en tout +\d+ +taux d'appels manqués : \d+,\d", text, re.M)
    assert "Les pires journées" in text and "Semaine par semaine" in text
    assert re.search(r"\b(missed|calls|week|rate|report)\b", text) is None


async def test_an_english_site_gets_the_text_in_english(tmp_path: Path) -> None:
    """With `departments.language: en` the e-mail's text part is the English report."""
    write_history_file(str(tmp_path / "r.db"), HistorySpec(end=MONDAY, days=63, calls_per_day=20))
    with SmtpPeer(tmp_path) as smtp:
        config = settings(tmp_path, smtp)
        config = config.model_copy(
            update={"departments": config.departments.model_copy(update={"language": "en"})}
        )
        async with Store(config.storage.path) as store:
            done = await weekly_reports_once(config, store, local(f"{MONDAY} 08:00"))
    assert [d.ok for _, d in done] == [True]
    mail = smtp.messages[0]
    assert "week of Nov 16" in mail["Subject"]
    part = next(p for p in mail.walk() if p.get_content_type() == "text/plain")
    text = part.get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert text.startswith("ringback report — ") and "missed calls, all" in text
    assert "appels" not in text


async def test_a_failed_send_is_recorded_and_tried_again(tmp_path: Path) -> None:
    """A refused login is stored as the reason; the next check tries again (and a
    fixed password then delivers it)."""
    write_history_file(str(tmp_path / "r.db"), HistorySpec(end=MONDAY, days=63, calls_per_day=30))
    with SmtpPeer(tmp_path) as smtp:
        wrong = settings(tmp_path, smtp, password="old password")
        async with Store(wrong.storage.path) as store:
            done = await weekly_reports_once(wrong, store, local(f"{MONDAY} 08:00"))
            assert not done[0][1].ok
            state = await store.scalar(
                "SELECT webhook_state FROM alerts WHERE kind = 'weekly_report'"
            )
            assert "wrong username or password" in str(state)
            fixed = settings(tmp_path, smtp)
            done = await weekly_reports_once(fixed, store, local(f"{MONDAY} 08:05"))
            assert done[0][1].ok
            assert await weekly_reports_once(fixed, store, local(f"{MONDAY} 08:10")) == []
    assert len(smtp.messages) == 1


def test_the_period_is_the_last_eight_full_weeks() -> None:
    since, until = period(MONDAY)
    assert until == MONDAY - timedelta(days=1) and until.weekday() == 6
    assert since == MONDAY - timedelta(weeks=8) and since.weekday() == 0


async def test_the_alerts_loop_sends_it(tmp_path: Path) -> None:
    """The alerts task (AlertWatcher.run), which imports agent/report/weekly.py only
    on a site where a manager gets the report, sends it on Monday morning (one round:
    its clock asks it to stop after this one)."""
    write_history_file(str(tmp_path / "r.db"), HistorySpec(end=MONDAY, days=70, calls_per_day=60))

    def monday_morning() -> datetime:
        watcher.stop()
        return local(f"{MONDAY} 08:00")

    with SmtpPeer(tmp_path) as smtp:
        config = settings(tmp_path, smtp)
        async with Store(config.storage.path) as store:
            watcher = AlertWatcher(config, store, monday_morning)
            await asyncio.wait_for(watcher.run(), 60)
    assert smtp.recipients == [["sm@garage.example"]]
    assert watcher.counters.get("check_failures") == 0
