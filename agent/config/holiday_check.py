"""The load check of the departments' holiday exceptions: each holiday name must be
one the site's calendar knows (agent/config/dept_holidays.py), reported with its line."""

from __future__ import annotations

from datetime import date

from agent.config.dept_holidays import holiday_names
from agent.config.settings import LOAD_CHECKS, Settings


def unknown_names(settings: Settings) -> list[tuple[tuple[str | int, ...], str]]:
    """Each holiday name a department lists that the site's calendar does not know
    (this year's or next year's)."""
    site = settings.site
    year = date.today().year
    known = {**holiday_names(site.country, site.province, year)}
    known |= holiday_names(site.country, site.province, year + 1)
    found: list[tuple[tuple[str | int, ...], str]] = []
    for name, dep in settings.departments.by_name().items():
        if dep.holidays is None:
            continue
        for key in ("open_on", "closed_on"):
            for index, ref in enumerate(getattr(dep.holidays, key)):
                if isinstance(ref, str) and ref.lower() not in known:
                    region = site.country + (f"-{site.province}" if site.province else "")
                    choices = ", ".join(sorted({n.title() for n in known})[:12])
                    found.append(
                        (
                            ("departments", name, "holidays", key, index),
                            f"no holiday named {ref!r} in the {region} calendar (expected a "
                            f"date YYYY-MM-DD or one of: {choices})",
                        )
                    )
    return found


LOAD_CHECKS.append(unknown_names)
