"""The site's holiday calendar (agent/config/calendar.py): the configured country's
holidays as `holidays` computes them, with only that country's module imported."""

from __future__ import annotations

import subprocess
import sys

import holidays
import pytest

from agent.config import calendar
from agent.config.hours import public_holidays


@pytest.mark.parametrize(("country", "province"), [("CA", "QC"), ("CA", None), ("US", "NY")])
def test_dates_are_the_librarys(country: str, province: str | None) -> None:
    """Same days as `holidays.country_holidays` for the same country and province."""
    expected = set(holidays.country_holidays(country, subdiv=province, years=2026))
    assert calendar.holiday_dates(country, province, 2026) == expected
    assert expected  # a calendar with days in it, not two empty sets


def test_unknown_country_and_province() -> None:
    """An unknown code is not a country; an unknown province raises as the library does
    (the site gets no public holidays rather than a crash)."""
    assert calendar.known_country("CA") and not calendar.known_country("ZZ")
    assert "QC" in calendar.subdivisions("CA")
    with pytest.raises(NotImplementedError):
        calendar.calendar("CA", "XX", 2026)
    assert public_holidays("ZZ", None, [], 2026) == set()


def test_only_the_configured_country_is_imported() -> None:
    """In a fresh interpreter, the Quebec calendar imports holidays.countries.canada and
    no other country module (the package's __init__ would import ~250)."""
    code = (
        "import sys\n"
        "from agent.config.hours import public_holidays\n"
        "assert public_holidays('CA', 'QC', [], 2026)\n"
        "print(sorted(m for m in sys.modules if m.startswith('holidays.countries.')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['holidays.countries.canada']"
