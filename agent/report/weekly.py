"""The weekly report e-mail to managers: the report page of the last eight full weeks,
sent once a week (on `alerts.weekly_report_day` from `alerts.digest_at`, site time)
to every manager with an `email` and `weekly_report: true`, through the `smtp:`
server. Pure of the daemon: `weekly_reports_once` is called by the alerts loop.

One row in the `alerts` table per manager and week (`dedup_key`
`weekly:<monday>:<manager>`) keeps it to once a week across restarts; its delivery
state (`webhook_state`: "sent" or the reason) shows what happened. A failed send is
tried again at the next check, up to `WEEKLY_ATTEMPTS` times in the day.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from datetime import date, datetime, timedelta
from datetime import time as clock_time

from agent.config.alerts import ManagerConfig
from agent.config.settings import Settings
from agent.report.output import render, site_report
from agent.report.words import short_date
from agent.send.mail import Delivery, message, send_mail
from agent.store import Store, ts

log = logging.getLogger(__name__)

WEEKS = 8
WEEKLY_ATTEMPTS = 5
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def period(today: date) -> tuple[date, date]:
    """The last `WEEKS` full weeks (Monday to Sunday) before `today`'s week."""
    monday = today - timedelta(days=today.weekday())
    return monday - timedelta(weeks=WEEKS), monday - timedelta(days=1)


def to_date(today: date) -> tuple[date, date]:
    """The same `WEEKS` full weeks and this week so far, up to `today`: what the desk's
    report page shows, so a manager reads this morning's misses beside the usual."""
    return period(today)[0], today


def subject(settings: Settings, until: date, language: str) -> str:
    week = short_date(until - timedelta(days=6), language)
    if language == "fr":
        return f"{settings.site.name} — appels manqués, semaine du {week}"
    return f"{settings.site.name} — missed calls, week of {week}"


def build_pages(settings: Settings, db_path: str, today: date) -> tuple[str, str, date]:
    """(html, text, until) of the weekly report; blocking: run it in a thread."""
    since, until = period(today)
    language = settings.departments.language
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        report = site_report(conn, settings, since, until, language=language)
    finally:
        conn.close()
    return render(report, "html"), render(report, "text"), until


async def weekly_reports_once(
    settings: Settings, store: Store, now: datetime, send: bool = True
) -> list[tuple[ManagerConfig, Delivery]]:
    """Send the week's report to each manager who asked for it and has not had it."""
    alerts, smtp = settings.alerts, settings.smtp
    local = now.astimezone(settings.site.tz)
    managers = [m for m in alerts.managers if m.weekly_report and m.email]
    if smtp is None or not managers or DAYS[local.weekday()] != alerts.weekly_report_day:
        return []
    if local.time() < clock_time.fromisoformat(alerts.digest_at):
        return []
    monday = local.date() - timedelta(days=local.weekday())
    due: list[tuple[ManagerConfig, str, int | None, int]] = []
    for manager in managers:
        key = f"weekly:{monday}:{manager.name}"
        row = await store.fetchone(
            "SELECT id, webhook_state FROM alerts WHERE dedup_key = ?", (key,)
        )
        if not row:
            due.append((manager, key, None, 0))
        elif row[1] != "sent":
            tries = await store.scalar(
                "SELECT COUNT(*) FROM alerts WHERE kind = 'weekly_retry' AND dedup_key LIKE ?",
                (f"{key}#%",),
            )
            if int(tries or 0) < WEEKLY_ATTEMPTS:
                due.append((manager, key, int(row[0]), int(tries or 0)))
    if not due:
        return []
    html, text, until = await asyncio.to_thread(
        build_pages, settings, str(settings.storage.path), local.date()
    )
    title = subject(settings, until, settings.departments.language)
    done = []
    for manager, key, alert_id, tries in due:
        assert manager.email is not None
        result = (
            await send_mail(smtp, message(smtp, [manager.email], title, text, html))
            if send
            else Delivery(False, "not sent")
        )
        state = "sent" if result.ok else result.reason
        async with store.transaction() as conn:
            if alert_id is None:
                await conn.execute(
                    "INSERT INTO alerts (kind, department, dedup_key, fired_at, body, "
                    "webhook_state) VALUES ('weekly_report', '', ?, ?, ?, ?)",
                    (key, ts(now), title, state),
                )
            else:
                await conn.execute(
                    "UPDATE alerts SET webhook_state = ? WHERE id = ?", (state, alert_id)
                )
                await conn.execute(
                    "INSERT INTO alerts (kind, department, dedup_key, fired_at, body) "
                    "VALUES ('weekly_retry', '', ?, ?, ?)",
                    (f"{key}#{tries + 1}", ts(now), state),
                )
        if result.ok:
            log.info("weekly report sent to manager %s", manager.name)
        else:
            log.warning("weekly report to manager %s failed: %s", manager.name, result.reason)
        done.append((manager, result))
    return done
