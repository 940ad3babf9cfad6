"""A figure that does not exist (no calls in the period) reads cleanly in every
format and both languages: a dash or a blank in the text, "aucun appel" / "no
calls" in the heat map's tooltips, an empty CSV cell; never « – des appels reçus »."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from agent.config.settings import load_text
from agent.report.build import Report, build_report
from agent.report.context import ReportContext
from agent.report.output import render
from tests.agent.conftest import DEALERSHIP, merged
from tests.report.conftest import MONDAY, Calls, local

LANGUAGES = ("fr", "en")


def _report(db: sqlite3.Connection, tmp_path: Path, language: str, *, empty: bool) -> Report:
    """Service's Monday calls; the week after has none (`empty`)."""
    text = yaml.safe_dump(merged(DEALERSHIP, {"storage": {"path": str(tmp_path / "r.db")}}))
    settings = load_text(text, tmp_path / "ringback.yaml").settings
    day = MONDAY + timedelta(days=7) if empty else MONDAY
    return build_report(
        db,
        site="Garage",
        timezone="America/Toronto",
        since=day,
        until=day + timedelta(days=1),
        context=ReportContext.from_settings(settings, day, day, language),
    )


def _seed(calls: Calls) -> None:
    calls.call(local("2026-11-23 08:10"), "answered")
    calls.call(local("2026-11-23 08:40"), "missed")


@pytest.mark.parametrize("language", LANGUAGES)
def test_text_has_no_dash_inside_a_sentence(
    db: sqlite3.Connection, calls: Calls, tmp_path: Path, language: str
) -> None:
    """With no calls, the rate and share remarks are blank (the count says 0) and the
    median wait is a lone dash; with calls they are there."""
    _seed(calls)
    empty = render(_report(db, tmp_path, language, empty=True), "text")
    for broken in ("– des", "– of", ": –", "rate –"):
        assert broken not in empty, (broken, empty)
    median = "délai médian" if language == "fr" else "median time"
    assert any(line.split()[-1] == "–" for line in empty.splitlines() if median in line)
    full = render(_report(db, tmp_path, language, empty=False), "text")
    rate = "taux d'appels manqués : 50,0\u202f%" if language == "fr" else "missed-call rate 50.0%"
    assert rate in full
    share = "0,0\u202f% des appels reçus" if language == "fr" else "0.0% of inbound calls"
    assert share in full


@pytest.mark.parametrize("language", LANGUAGES)
def test_heat_tooltips_say_no_calls(
    db: sqlite3.Connection, calls: Calls, tmp_path: Path, language: str
) -> None:
    """An open hour without a call says "aucun appel" / "no calls", not "0 manqués /
    0"; an hour with calls counts them with the plural rule; hours as the text
    report writes them ("8 h" / "08:00")."""
    _seed(calls)
    page = render(_report(db, tmp_path, language, empty=False), "html")
    if language == "fr":
        assert 'title="lundi 8 h : 1 appel manqué sur 2"' in page
        assert 'title="lundi 10 h : aucun appel"' in page
        assert "manqués / 0" not in page and "08h" not in page
    else:
        assert 'title="Monday 08:00: 1 missed call of 2"' in page
        assert 'title="Monday 10:00: no calls"' in page
        assert "missed / 0" not in page and "08h" not in page
    empty = render(_report(db, tmp_path, language, empty=True), "html")
    assert "/ 0" not in empty and "– des" not in empty and "– of" not in empty


def test_csv_leaves_a_missing_figure_empty(
    db: sqlite3.Connection, calls: Calls, tmp_path: Path
) -> None:
    """CSV is for spreadsheets: a share with no calls is an empty cell, no dash."""
    _seed(calls)
    csv = render(_report(db, tmp_path, "fr", empty=True), "csv")
    assert (
        "totals,site,,after_hours_share,\r\n" in csv or "totals,site,,after_hours_share,\n" in csv
    )
    assert "–" not in csv
