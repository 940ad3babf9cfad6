"""A report in the format asked for: text, CSV, JSON (`render`) or HTML (`html`)."""

from __future__ import annotations

from agent.report.build import Report


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
