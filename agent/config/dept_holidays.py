"""A department's exceptions to the site's holidays: `holidays: {open_on, closed_on}`
under a department, each a list of dates (YYYY-MM-DD) or holiday names as the site's
calendar spells them ("Boxing Day"), e.g. Parts open on Boxing Day, Service closed on
a local festival day.

`closed_days` gives a department's closed days of a year: the site's (its country's
calendar and `site.holidays`) less its `open_on`, plus its `closed_on`. A name stands
for that holiday's date in each year. `unknown_names` is the load check that names
each name the calendar does not know, with its line (agent/config/holiday_check.py).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from agent.config.calendar import calendar


def _date_or_name(value: Any) -> Any:
    """A YAML date, an ISO date written as a string, or a holiday's name."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not value.strip():
        raise ValueError(
            f"{value!r} is neither a date nor a holiday name "
            '(expected e.g. 2026-12-26 or "Boxing Day")'
        )
    text = value.strip()
    if text[:4].isdigit() and text[4:5] == "-":
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a date (expected YYYY-MM-DD)") from None
    return text


DayRef = Annotated[date | str, BeforeValidator(_date_or_name)]


class DepartmentHolidays(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    open_on: list[DayRef] = Field(default_factory=list)
    closed_on: list[DayRef] = Field(default_factory=list)


def holiday_names(country: str, province: str | None, year: int) -> dict[str, set[date]]:
    """Lower-case holiday name -> its dates in `year` ("A; B" names both)."""
    try:
        found = calendar(country, province, year)
    except (NotImplementedError, KeyError):
        return {}
    out: dict[str, set[date]] = {}
    for day, names in found.items():
        for name in str(names).split(";"):
            out.setdefault(name.strip().lower(), set()).add(day)
    return out


def _dates(refs: list[date | str], names: dict[str, set[date]], year: int) -> set[str]:
    out: set[str] = set()
    for ref in refs:
        if isinstance(ref, date):
            if ref.year == year:
                out.add(ref.isoformat())
        else:
            out |= {d.isoformat() for d in names.get(ref.lower(), set())}
    return out


def closed_days(
    site_days: set[str],
    exceptions: DepartmentHolidays | None,
    country: str,
    province: str | None,
    year: int,
) -> set[str]:
    """The department's closed days of `year` (ISO dates) from the site's."""
    if exceptions is None or not (exceptions.open_on or exceptions.closed_on):
        return site_days
    names = holiday_names(country, province, year)
    opened = _dates(exceptions.open_on, names, year)
    return (site_days - opened) | _dates(exceptions.closed_on, names, year)
