"""A report in the format asked for: text, CSV, JSON (`render`) or HTML (`html`)."""

from __future__ import annotations

import sqlite3
from datetime import date

from agent.config.settings import Settings
from agent.report.build import Report, build_report
from agent.report.context import ReportContext


def render(report: Report, fmt: str) -> str:
    """`report` in one of `FORMATS`."""
    if fmt == "html":
        from agent.report.html import render_html

        return render_html(report)
    from agent.report import render as formats

    return {
        "text": formats.render_text,
        "csv": formats.render_csv,
        "json": formats.render_json,
    }[fmt](report)


def site_report(
    conn: sqlite3.Connection,
    settings: Settings,
    since: date,
    until: date,
    department: str | None = None,
    language: str | None = None,
) -> Report:
    """The report of the configured site over `since`..`until` (the command, the
    weekly e-mail and the desk's page all build it so)."""
    return build_report(
        conn,
        site=settings.site.name,
        timezone=settings.site.timezone,
        since=since,
        until=until,
        department=department,
        context=ReportContext.from_settings(settings, since, until, language),
    )
