"""Known answers in generated histories: the storm day, the season shift, the peak,
and every format of the same report (HTML parses and holds every section)."""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest

from agent.report.build import Report, build_report
from agent.report.data import SITE, UNANSWERED_OUTCOMES
from agent.report.demo import history_context
from agent.report.history import HistorySpec, dealership_history, write_history, write_history_file
from agent.report.output import render
from agent.report.score import season_shift, worst_days
from agent.report.text import render_text
from agent.report.words import outcome_words

END = date(2026, 11, 29)  # a Sunday


@pytest.fixture(scope="module")
def two_years(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[HistorySpec, Report]]:
    spec = dealership_history(END, days=728, calls_per_day=40.0, seed=3)
    path = tmp_path_factory.mktemp("history") / "ringback.db"
    write_history_file(str(path), spec)
    conn = sqlite3.connect(path)
    since = END - timedelta(days=363)
    rep = build_report(
        conn,
        site="Garage",
        timezone=spec.timezone,
        since=since,
        until=END,
        context=history_context(since, END, "en"),
    )
    conn.close()
    yield spec, rep


def test_generator_is_deterministic_and_service_heavy(tmp_path: Path) -> None:
    """Same spec, same rows; Service takes about 80 % of the calls."""
    spec = dealership_history(END, days=21, calls_per_day=60.0, seed=11)
    dumps = []
    for name in ("a.db", "b.db"):
        conn = sqlite3.connect(tmp_path / name, isolation_level=None)
        facts = write_history(conn, spec)
        dumps.append(list(conn.execute("SELECT * FROM calls ORDER BY id")))
        conn.close()
    assert dumps[0] == dumps[1]
    assert 0.74 < facts.by_department["service"] / facts.calls < 0.86


def test_storm_monday_is_the_worst_day(two_years: tuple[HistorySpec, Report]) -> None:
    """The storm Monday tops the site's worst days, scored against other Mondays."""
    spec, rep = two_years
    worst = rep.section(SITE).worst
    assert worst and worst[0].day == spec.storm_day
    assert worst[0].score >= 3.5 and worst[0].day.weekday() == 0


def test_season_shift_found(two_years: tuple[HistorySpec, Report]) -> None:
    """The tyre rushes of the last 52 weeks came 3 weeks later than the year before;
    the week-by-week comparison says so for Service and the site."""
    _, rep = two_years
    for name in (SITE, "service"):
        shift = rep.section(name).shift
        assert shift is not None and shift.weeks == 3, name


def test_heat_map_peaks_where_the_story_says(two_years: tuple[HistorySpec, Report]) -> None:
    """Service loses most calls on Monday mornings, Parts in the late afternoon,
    Sales in the evening."""
    _, rep = two_years
    service = rep.section("service").scope.peak()
    parts = rep.section("parts").scope.peak()
    sales = rep.section("sales").scope.peak()
    assert service is not None and (service[0], service[1]) in {(0, 8), (0, 9)}
    assert parts is not None and parts[1] in (15, 16)
    assert sales is not None and sales[1] >= 17


def test_normal_mondays_are_not_worst_days() -> None:
    """A flat history of Mondays with ordinary noise yields no worst day; the same
    history with one storm Monday yields exactly that day."""
    start = date(2026, 1, 5)
    daily = {start + timedelta(days=7 * i): 50 + (i % 5) - 2 for i in range(20)}
    assert worst_days(daily) == []
    storm = start + timedelta(days=70)
    daily[storm] = 95
    assert [w.day for w in worst_days(daily)] == [storm]


def test_season_shift_none_without_busy_weeks() -> None:
    """Flat years have no busy weeks to line up: no shift is claimed."""
    assert season_shift([100] * 52, [100] * 52) is None


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.tags: list[str] = []
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for key, value in attrs:
            if key == "id" and value:
                self.ids.add(value)
            if key in ("src", "href") and value:
                self.urls.append(value)


def test_html_is_self_contained_and_holds_every_section(
    two_years: tuple[HistorySpec, Report],
) -> None:
    """The HTML parses; the departments' comparison (each department and the site) comes
    first, then for each department its blocks: heat map, worst days, outcomes, weeks,
    menu and staffing; inline SVG charts, a viewport for phones, a print style, nothing
    to fetch; the method is named, the worst-day score stays in the JSON."""
    _, rep = two_years
    html = render(rep, "html")
    parser = _Collector()
    parser.feed(html)
    parser.close()
    assert "compare" in parser.ids
    for name in (SITE, "service", "sales", "parts"):
        assert f"card-{name}" in parser.ids, f"card-{name}"
    for name in ("service", "sales", "parts"):
        for block in ("dept", "heat", "worst", "outcomes", "weeks", "ivr", "staffing"):
            assert f"{block}-{name}" in parser.ids, f"{block}-{name}"
    assert f"dept-{SITE}" not in parser.ids  # the site is in the comparison
    assert parser.tags.count("svg") == 3
    assert "script" not in parser.tags and "link" not in parser.tags
    assert parser.urls == []
    assert 'name="viewport"' in html and "@media print" in html
    assert "Erlang" in html and "80%" in html
    assert "median absolute deviation" not in html and "score" not in html.lower()
    assert "abandoned_queue" not in html and "hung up while on hold" in html
    assert "after choosing Service" in html  # menu branches in words
    doc = json.loads(render(rep, "json"))
    assert "median absolute deviation" in doc["definitions"]["worst_days"]
    assert doc["queries"]["scan"] and doc["queries"]["staffing"]
    assert all(
        "FROM calls" in q or "FROM messages" in q or "FROM replies" in q
        for q in doc["queries"]["scan"]
        if q.startswith("SELECT")
    )


def test_text_csv_json_agree(two_years: tuple[HistorySpec, Report]) -> None:
    """JSON, CSV and text carry the same totals and the explained rate and score."""
    _, rep = two_years
    doc = json.loads(render(rep, "json"))
    site = doc["sections"][0]
    assert doc["schema"] == "ringback.report/1" and site["name"] == SITE
    missed = rep.section(SITE).scope.totals.missed
    assert site["totals"]["missed_calls"] == missed
    rows = list(csv.DictReader(io.StringIO(render(rep, "csv"))))
    found = [r for r in rows if r["department"] == SITE and r["metric"] == "missed_calls"]
    assert found and int(found[0]["value"]) == missed
    text = render(rep, "text")
    assert re.search(rf"^  missed calls, all +{missed} +missed-call rate", text, re.M)
    voicemail = rep.section(SITE).scope.totals.outcomes["voicemail"]
    # each kind of miss in a manager's words, under the total it adds up to
    assert re.search(rf"^    went to voicemail +{voicemail}$", text, re.M)
    block = text[text.index("missed calls, all") : text.index("missed calls in open hours")]
    assert all(outcome_words(o, "en") in block for o in UNANSWERED_OUTCOMES)
    assert "abandoned_queue" not in text and "short_abandon" not in text
    assert "Hang-ups within seconds" in text and "Worst days" in text


def test_the_text_of_a_french_site_is_french(two_years: tuple[HistorySpec, Report]) -> None:
    """The same report for a French (Quebec) site: every label, outcome, date, hour
    and number in French (decimal comma, a space before "%" and ":"), no English word
    left, and each block of totals still one column of labels and one of figures."""
    spec, rep = two_years
    text = render_text(replace(rep, context=history_context(rep.since, rep.until, "fr")))
    totals = rep.section(SITE).scope.totals
    rate = f"{100 * totals.missed_rate:.1f}".replace(".", ",")  # type: ignore[operator]
    assert re.search(
        rf"^  appels manqués, en tout +{totals.missed} +taux d'appels manqués : {rate}\u202f%$",
        text,
        re.M,
    )
    voicemail = totals.outcomes["voicemail"]
    assert re.search(rf"^    boîte vocale +{voicemail}$", text, re.M)
    assert text.startswith("Rapport ringback — Garage\nAppels manqués du lundi 1er décembre 2025")
    storm = spec.storm_day
    assert storm is not None
    months = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
              "septembre", "octobre", "novembre", "décembre")  # fmt: skip
    assert re.search(rf"^    lundi {storm.day} {months[storm.month - 1]} {storm.year} +\d+ manqués "
                     r"\(d'habitude \d+\)$", text, re.M)  # fmt: skip
    assert "Les semaines chargées sont arrivées 3 semaines plus tard que l'an dernier." in text
    assert re.search(
        r"^    après avoir choisi Service, puis \*1 +\d+ +\d+ \(\d+,\d\u202f%\)", text, re.M
    )
    assert re.search(r"Le pire moment : le lundi entre \d+ h et \d+ h, \d+ appels manqués", text)
    english = re.search(
        r"\b(missed|calls?|week|rate|answered|hour|median|reached|worst|of|the)\b", text, re.I
    )
    assert english is None, english
    for block in text.split("\n\n"):
        lines = [line for line in block.splitlines() if line.startswith("  ")]  # no title
        if not lines or not lines[0].startswith(("  appels reçus", "  dossiers de rappel")):
            continue
        end = len(lines[0])  # the first row has no remark: its figure ends the column
        for line in lines:
            assert line[end - 1] != " " and line[end : end + 3] in ("", "   "), (line, end)


def test_a_closed_department_reaches_nobody(tmp_path: Path) -> None:
    """The demo's history counts a caller recovered by phone (called back, or called
    again and answered) only from the department's next opening on: the PBX shows
    nobody reaching anyone while it is closed (texts' replies may come any time).
    The cases' `reached`, which the desk and the report count, are the same moments."""
    from datetime import datetime, time
    from zoneinfo import ZoneInfo

    from agent.report.history import OPEN_HOURS

    spec = replace(dealership_history(END, days=21, calls_per_day=80.0, seed=5), cases=True)
    conn = sqlite3.connect(tmp_path / "ringback.db")
    write_history(conn, spec)
    tz = ZoneInfo(spec.timezone)

    def next_open(department: str, stamp: str) -> datetime:
        local = datetime.fromisoformat(stamp).astimezone(tz)
        for k in range(8):
            day = local.date() + timedelta(days=k)
            first, last = OPEN_HOURS[department][day.weekday()]
            if last > first and local < datetime.combine(day, time(last), tz):
                return max(local, datetime.combine(day, time(first), tz))
        raise AssertionError(f"{department} never opens")

    rows = conn.execute(
        "SELECT c.department, c.ended_at, c.recovered_at, k.reached_at FROM calls c "
        "JOIN cases k ON k.call_ids = CAST(c.id AS TEXT) WHERE c.after_hours = 1 "
        "AND c.recovered_by IN ('callback', 'answered_again')"
    ).fetchall()
    conn.close()
    assert len(rows) > 50
    early = [r for r in rows if datetime.fromisoformat(r[2]) < next_open(r[0], r[1])]
    assert early == []
    assert all(call == case for _, _, call, case in rows)
