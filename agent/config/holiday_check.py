"""The check of the departments' holiday exceptions: each holiday name must be one the
site's calendar knows (agent/config/dept_holidays.py), reported with its line.

It reads the configuration as written (the parsed YAML, before validation), so a bad
name is reported in the same `check-config` run as every other problem, even when the
rest of the file does not validate. A name is only judged against a calendar that
exists: an unknown country or province is the site section's own error.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from agent.config.calendar import known_country, subdivisions
from agent.config.dept_holidays import holiday_names

Problem = tuple[tuple[str | int, ...], str]


def unknown_names(data: dict[str, Any], today: date | None = None) -> list[Problem]:
    """Each holiday name a department lists that the site's calendar does not know
    (this year's or next year's), as (key path, problem)."""
    region = _region(data.get("site"))
    departments = data.get("departments")
    if region is None or not isinstance(departments, dict):
        return []
    wanted = [
        (name, key, index, ref)
        for name, dep in departments.items()
        if isinstance(dep, dict) and isinstance(dep.get("holidays"), dict)
        for key in ("open_on", "closed_on")
        if isinstance(dep["holidays"].get(key), list)
        for index, ref in enumerate(dep["holidays"][key])
        if isinstance(ref, str) and _is_name(ref)
    ]
    if not wanted:
        return []
    country, province = region
    year = (today or date.today()).year
    known = {**holiday_names(country, province, year), **holiday_names(country, province, year + 1)}
    where = country + (f"-{province}" if province else "")
    choices = ", ".join(sorted({n.title() for n in known})[:12])
    return [
        (
            ("departments", str(name), "holidays", key, index),
            f"no holiday named {ref!r} in the {where} calendar (expected a date YYYY-MM-DD "
            f"or one of: {choices})",
        )
        for name, key, index, ref in wanted
        if ref.strip().lower() not in known
    ]


def _region(site: object) -> tuple[str, str | None] | None:
    """(country, province) of a `site:` section as written, None when it names no
    calendar (that is reported on the site's own keys)."""
    site = site if isinstance(site, dict) else {}
    country = str(site.get("country") or "CA").upper()
    if len(country) != 2 or not known_country(country):
        return None
    province = site.get("province")
    if province is None:
        return country, None
    text = str(province).upper()
    return (country, text) if text in subdivisions(country) else None


def _is_name(ref: str) -> bool:
    """A holiday name, not a date written as a string (dates are checked as dates)."""
    text = ref.strip()
    return bool(text) and not (text[:4].isdigit() and text[4:5] == "-")
