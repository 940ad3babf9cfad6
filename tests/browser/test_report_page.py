"""The managers' HTML report as a manager sees it, in headless Chromium at desktop
(1400 px) and phone (390 px) widths, in French and English: nothing scrolls sideways,
the departments' comparison is above the fold, closed hours are grey, the page
names its method, and axe-core finds no serious or critical WCAG A/AA violation
(the heat map's colours keep its text readable). Screenshots of each are kept (see
tests/browser/chromium.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from agent.report.build import build_report
from agent.report.demo import history_context
from agent.report.history import dealership_history, write_history
from agent.report.output import render
from tests.browser.axe import axe_source, violations
from tests.browser.chromium import browser, screenshot_dir

pytestmark = pytest.mark.browser

END = date(2026, 11, 29)


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    import sqlite3

    folder = tmp_path_factory.mktemp("report")
    conn = sqlite3.connect(folder / "ringback.db", isolation_level=None)
    spec = dealership_history(END, days=120, calls_per_day=40.0)
    write_history(conn, replace(spec, cases=True))
    since = END - timedelta(days=111)
    out = {}
    for lang in ("fr", "en"):
        report = build_report(
            conn,
            site="Garage Exemple",
            timezone="America/Toronto",
            since=since,
            until=END,
            context=history_context(since, END, lang),
        )
        path = folder / f"report-{lang}.html"
        path.write_text(render(report, "html"), encoding="utf-8")
        out[lang] = path
    conn.close()
    return out


@pytest.mark.parametrize("lang", ["fr", "en"])
@pytest.mark.parametrize(("width", "height"), [(1400, 900), (390, 844)])
def test_report_reads_at_desktop_and_phone_width(
    pages: dict[str, Path], tmp_path: Path, lang: str, width: int, height: int
) -> None:
    with browser() as chrome:
        page: Any = chrome.new_page(viewport={"width": width, "height": height})  # type: ignore[attr-defined]
        page.goto(pages[lang].as_uri())
        page.screenshot(
            path=str(screenshot_dir(tmp_path) / f"report-{lang}-{width}.png"), full_page=True
        )
        scroll = page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= width, f"the page scrolls sideways at {width} px ({scroll} px wide)"
        box = page.locator("#compare table").bounding_box()
        assert box is not None and box["y"] + box["height"] <= height, "comparison below the fold"
        overflow = page.evaluate(
            "[...document.querySelectorAll('.box, table')].filter("
            "e => e.scrollWidth > e.clientWidth + 1).length"
        )
        assert overflow == 0, "a table needs a sideways scroll"
        wrapped = page.evaluate(
            "[...document.querySelectorAll('table.heat th[scope=row]')].filter(e => "
            "e.getClientRects().length > 0 && e.getBoundingClientRect().height > "
            "1.9 * parseFloat(getComputedStyle(e).lineHeight)).map(e => e.innerText)"
        )
        assert not wrapped, f"an hour's label breaks over two lines: {wrapped}"
        closed = page.locator("#heat-service td.closed").count()
        assert closed > 0, "Sunday is closed: its cells are grey"
        footer = page.locator("footer").inner_text()
        assert "Erlang" in footer
        headers = page.locator("#compare th[scope=col]").all_inner_texts()
        assert headers[0] == "Service" and headers[-1] == "Site"
        found = violations(page, axe_source())
        assert not found, "\n".join(found)
