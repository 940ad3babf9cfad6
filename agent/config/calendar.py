"""The site's public-holiday calendar, from the `holidays` library, loading only the
configured country.

`holidays` exposes each country as a class in its own module
(`holidays.countries.canada.Canada`), listed with its codes in
`holidays.registry.COUNTRIES`. Its top-level lookups (`holidays.CA`,
`country_holidays`) import the package `holidays.countries`, whose `__init__`
imports all ~250 country modules (about half a second and 8 MB). Here the package is
registered without running that `__init__`, so importing one country's module
imports that module alone; the rest of `holidays` works unchanged (its own lazy
loaders import submodules the same way). `holidays.groups` and `holidays.calendars`
(each country's building blocks, and every other calendar: Hebrew, Islamic, Chinese,
...) are deferred by name, so a country imports the groups it names and the
calendars those need, not all seventeen of each. `holidays` itself is imported on first use,
and its own `__init__` (every calendar helper, every country's name registered) only
if something asks for a name of its top level (agent/imports.py).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
import types
from datetime import date
from functools import cache
from typing import TYPE_CHECKING, Any

from agent.imports import defer_init

if TYPE_CHECKING:
    from holidays import HolidayBase

_PACKAGE = "holidays.countries"
_lock = threading.Lock()


def _defer_holidays() -> None:
    defer_init("holidays")
    defer_init("holidays.calendars", by_name=True)
    defer_init("holidays.groups", by_name=True)


@cache
def _codes() -> dict[str, tuple[str, str]]:
    """Country code (and alias) -> (module, class name)."""
    _defer_holidays()
    from holidays.registry import COUNTRIES

    return {code: (module, names[0]) for module, names in COUNTRIES.items() for code in names[1:]}


def _country_package() -> None:
    """`holidays.countries` as a package whose `__init__` has not run."""
    with _lock:
        if _PACKAGE in sys.modules:
            return
        _defer_holidays()
        spec = importlib.util.find_spec(_PACKAGE)
        if spec is None or spec.submodule_search_locations is None:
            raise ImportError(f"{_PACKAGE} not found")
        package = types.ModuleType(_PACKAGE)
        package.__path__ = list(spec.submodule_search_locations)
        package.__spec__ = spec
        package.__package__ = _PACKAGE
        sys.modules[_PACKAGE] = package


def known_country(code: str) -> bool:
    """Whether `holidays` has a calendar for this country code (imports no country)."""
    return code in _codes()


@cache
def country_class(code: str) -> Any:
    """The `HolidayBase` subclass of one country. KeyError for an unknown code."""
    module, name = _codes()[code]
    _country_package()
    return getattr(importlib.import_module(f"{_PACKAGE}.{module}"), name)


def subdivisions(code: str) -> tuple[str, ...]:
    """The country's subdivision codes (provinces, states)."""
    return tuple(country_class(code).subdivisions)


def calendar(code: str, province: str | None, year: int) -> HolidayBase:
    """The country's (and province's) public holidays of `year`. KeyError for an
    unknown country, NotImplementedError for an unknown province."""
    found: HolidayBase = country_class(code)(subdiv=province, years=year)
    return found


def holiday_dates(code: str, province: str | None, year: int) -> set[date]:
    return set(calendar(code, province, year).keys())
