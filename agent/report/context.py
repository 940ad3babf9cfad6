"""What the report knows of the site beyond the calls: the language it is read in,
department labels and opening hours, holidays, tyre seasons, the phone menu's keys
and the staffing targets. Built from the configuration (`from_settings`); a report
built without one (`ReportContext()`) still has every figure, in English, with
every hour counted open."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from agent.config.hours import public_holidays
from agent.config.report import StaffingTargets, TyreSeason
from agent.config.settings import Settings
from agent.report.staffing import Weekly


@dataclass(frozen=True)
class ReportContext:
    language: str = "en"
    labels: Mapping[str, str] = field(default_factory=dict)
    hours: Mapping[str, Weekly] = field(default_factory=dict)
    holidays: frozenset[date] = frozenset()
    seasons: tuple[TyreSeason, ...] = ()
    menu: Mapping[str, str] = field(default_factory=dict)  # IVR keys -> department
    targets: StaffingTargets = field(default_factory=StaffingTargets)
    has_hours: bool = False

    def label(self, department: str) -> str:
        return self.labels.get(department) or department.capitalize()

    @classmethod
    def from_settings(
        cls, settings: Settings, since: date, until: date, language: str | None = None
    ) -> ReportContext:
        site = settings.site
        deps = settings.departments.by_name()
        closed: set[date] = set()
        for year in range(since.year - 1, until.year + 1):
            closed |= public_holidays(site.country, site.province, site.holidays, year)
        return cls(
            language=language or settings.departments.language,
            labels={name: dep.label or name.capitalize() for name, dep in deps.items()},
            hours={name: dep.weekly() for name, dep in deps.items()},
            holidays=frozenset(closed),
            seasons=settings.report.seasons(site.country, site.province),
            menu={keys: name for name, dep in deps.items() for keys in dep.ivr_keys if keys},
            targets=settings.report.staffing,
            has_hours=True,
        )
