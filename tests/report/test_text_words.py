"""The words of the text report, read aloud: waits, hours, days and counts as a
Quebec (or English-speaking) manager says them."""

from __future__ import annotations

from datetime import date

import pytest

from agent.plural import counted
from agent.report.alert_words import staffing_text
from agent.report.alerts import Level
from agent.report.text import rows, table, wrap
from agent.report.words import (
    amount_words,
    count_words,
    day_month_year,
    duration,
    hour_words,
    weeks_words,
)


@pytest.mark.parametrize(
    ("minutes", "fr", "en"),
    [
        (None, "–", "–"),
        (0.3, "moins d'une minute", "under a minute"),
        (45.4, "45 min", "45 min"),
        (62.0, "1 h 02", "1 h 2 min"),
        (120.0, "2 h", "2 h"),
        (599.0, "9 h 59", "9 h 59 min"),
        (2287.0, "38 h", "38 h"),  # past 10 h, to the hour
        (4000.0, "2,8 jours", "2.8 days"),
    ],
)
def test_waits_in_a_managers_units(minutes: float | None, fr: str, en: str) -> None:
    assert (duration(minutes, "fr"), duration(minutes, "en")) == (fr, en)


def test_days_hours_and_counts() -> None:
    """ "1er décembre 2025", "8 h", "1 semaine" / "0 appel manqué" (French singular
    for 0 and 1), "0 missed calls" (English plural but for 1)."""
    assert day_month_year(date(2025, 12, 1), "fr") == "1er décembre 2025"
    assert day_month_year(date(2026, 5, 4), "en") == "May 4, 2026"
    assert (hour_words(8, "fr"), hour_words(8, "en")) == ("8 h", "08:00")
    assert (weeks_words(1, "fr"), weeks_words(3, "fr"), weeks_words(3, "en")) == (
        "1 semaine",
        "3 semaines",
        "3 weeks",
    )
    assert count_words(0, "missed_call", "missed_calls", "fr") == "0 appel manqué"
    assert count_words(0, "missed_call", "missed_calls", "en") == "0 missed calls"


def test_one_plural_rule_for_every_count() -> None:
    """`counted` is the rule `count_words`, the staffing alert, the demo and doctor
    share: French singular for 0 and 1, English singular for 1 only."""
    assert [counted(n, "appel manqué", "appels manqués", "fr") for n in (0, 1, 2)] == [
        "0 appel manqué",
        "1 appel manqué",
        "2 appels manqués",
    ]
    assert [counted(n, "text", "texts") for n in (0, 1, 2)] == ["0 texts", "1 text", "2 texts"]
    usual = Level("service", missed=1, usual=0.4, score=4.0, samples=40, alerting=True)
    assert "Service : 1 appel manqué dans les 30 dernières minutes" in staffing_text(
        "Garage", "Service", usual, 30, "fr"
    )
    assert "Service missed 1 call in" in staffing_text("Garage", "Service", usual, 30, "en")
    many = Level("service", missed=7, usual=1.5, score=5.0, samples=40, alerting=True)
    assert ": 7 appels manqués dans" in staffing_text("Garage", "Service", many, 30, "fr")
    assert "missed 7 calls in" in staffing_text("Garage", "Service", many, 30, "en")


def test_columns_line_up() -> None:
    """Labels padded to the longest, figures right-aligned, remarks after; a table's
    first column left-aligned, the others right-aligned under their header."""
    assert rows([("appels reçus", "12", ""), ("  boîte vocale", "3", "note")]) == [
        "  appels reçus          12",
        "    boîte vocale         3   note",
    ]
    assert table(["poste", "rappels"], [["201", "2"], ["1001", "14"]]) == [
        "    poste   rappels",
        "    201           2",
        "    1001         14",
    ]


def test_a_french_colon_stays_on_its_line() -> None:
    """Wrapping never leaves « : » alone at the start of a line."""
    text = wrap("x" * 10 + " mot :", width=13)
    assert text == "xxxxxxxxxx\nmot\u00a0:"


@pytest.mark.parametrize(
    ("value", "fr", "en"),
    [
        (0.0, "0 appel", "0 calls"),
        (1.0, "1 appel", "1 call"),
        (1.5, "1,5 appel", "1.5 calls"),
        (1.96, "2 appels", "2 calls"),  # said as shown, rounded to one decimal
        (2.5, "2,5 appels", "2.5 calls"),
    ],
)
def test_an_amount_takes_the_plural_rule_of_counts(value: float, fr: str, en: str) -> None:
    """The staffing advice's calls a week follow `singular`, as shown: French singular
    under 2, English for 1 only."""
    assert amount_words(value, "call", "calls_n", "fr") == fr
    assert amount_words(value, "call", "calls_n", "en") == en
