"""Worst days come with a reason in words, in both languages."""

from __future__ import annotations

from datetime import date

import pytest

from agent.config.report import QUEBEC_TYRE_SEASONS, ReportConfig, TyreSeason
from agent.report.reasons import reasons

# Quebec 2026: Labour Day Monday Sept 7, Thanksgiving Monday Oct 12, Christmas Friday Dec 25.
HOLIDAYS = {date(2026, 9, 7), date(2026, 10, 12), date(2026, 12, 25)}


def codes(day: date, calls: int = 100, usual: float = 100.0) -> list[str]:
    return [r.code for r in reasons(day, calls, usual, HOLIDAYS, QUEBEC_TYRE_SEASONS)]


def test_tuesday_after_a_holiday_monday() -> None:
    """Tuesday after Labour Day is the first working day after a holiday."""
    found = reasons(date(2026, 9, 8), 100, 100.0, HOLIDAYS, ())
    assert [r.code for r in found] == ["after_holiday"]
    assert found[0].en == "Tuesday after a holiday"
    assert found[0].fr == "mardi après un jour férié"


def test_monday_after_a_friday_holiday() -> None:
    """The Monday after Christmas on a Friday follows a long weekend."""
    assert codes(date(2026, 12, 28))[0] == "after_holiday"


def test_an_ordinary_tuesday_is_not_after_a_holiday() -> None:
    assert "after_holiday" not in codes(date(2026, 9, 15))


def test_tyre_season_and_its_first_week() -> None:
    """Quebec's rush: October 15 to December 1 (first week named) and April-May."""
    assert codes(date(2026, 10, 16))[0] == "tyre_season_start"
    assert codes(date(2026, 11, 10)) == ["tyre_season"]
    assert codes(date(2026, 4, 20)) == ["tyre_season"]
    assert "tyre_season" not in codes(date(2026, 12, 10))


def test_calls_above_the_usual_weekday() -> None:
    """240 calls against a usual 100 on a Monday: "2.4 times the calls of a usual Monday"."""
    found = reasons(date(2026, 9, 21), 240, 100.0, HOLIDAYS, ())
    assert found[-1].code == "busier"
    assert found[-1].en == "2.4 times the calls of a usual Monday"
    assert found[-1].fr == "2,4 fois plus d'appels qu'un lundi habituel"


def test_no_reason_found_says_so() -> None:
    """The usual calls and nothing special: the staffing question is asked."""
    assert codes(date(2026, 9, 16)) == ["staffing"]


def test_a_window_may_wrap_the_new_year() -> None:
    season = TyreSeason.model_validate({"from": "12-15", "to": "01-15"})
    assert season.covers(date(2026, 12, 31)) and season.covers(date(2027, 1, 10))
    assert not season.covers(date(2027, 2, 1))
    assert season.first_week(date(2027, 12, 20))


def test_seasons_default_to_quebec_only_in_quebec() -> None:
    config = ReportConfig()
    assert config.seasons("CA", "QC") == QUEBEC_TYRE_SEASONS
    assert config.seasons("CA", "ON") == ()
    assert ReportConfig(tyre_seasons=[]).seasons("CA", "QC") == ()


@pytest.mark.parametrize("bad", ["13-01", "10-32", "Oct 15", ""])
def test_a_bad_month_day_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="month and day"):
        TyreSeason.model_validate({"from": bad, "to": "12-01"})
