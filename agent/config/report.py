"""The `report:` section: what the managers' report knows of the trade and aims for.

- `tyre_seasons`: the site's tyre-change rushes, as month-day windows (both ends
  included; a window may wrap the new year). Left out, Quebec sites get Quebec's
  (winter tyres are compulsory from December 1: mid-October to December 1, and
  April-May for the change back); other sites none.
- `staffing`: the answer target of the staffing advice (e.g. 80 % within 20 s) and
  how many past weeks of calls it is measured on.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


def _month_day(value: str) -> str:
    try:
        date.fromisoformat(f"2000-{value}")
    except ValueError:
        raise ValueError(f"{value!r} is not a month and day (expected MM-DD, e.g. 10-15)") from None
    return value


MonthDay = Annotated[str, AfterValidator(_month_day)]


class TyreSeason(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    start: MonthDay = Field(alias="from")
    end: MonthDay = Field(alias="to")

    def covers(self, day: date) -> bool:
        key = f"{day.month:02d}-{day.day:02d}"
        if self.start <= self.end:
            return self.start <= key <= self.end
        return key >= self.start or key <= self.end

    def first_week(self, day: date) -> bool:
        """`day` is within the window's first seven days."""
        month, mday = (int(x) for x in self.start.split("-"))
        for year in (day.year, day.year - 1):
            begin = _safe_date(year, month, mday)
            if begin <= day and (day - begin).days < 7:
                return True
        return False


def _safe_date(year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError:  # 02-29 in a common year
        return date(year, month, day - 1)


QUEBEC_TYRE_SEASONS = (
    TyreSeason(start="10-15", end="12-01"),
    TyreSeason(start="04-01", end="05-31"),
)


class StaffingTargets(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    target_share: float = Field(default=0.8, gt=0, lt=1)
    target_seconds: float = Field(default=20.0, gt=0, le=600)
    weeks: int = Field(default=8, ge=1, le=52)


class ReportConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    tyre_seasons: list[TyreSeason] | None = None
    staffing: StaffingTargets = Field(default_factory=StaffingTargets)

    def seasons(self, country: str, province: str | None) -> tuple[TyreSeason, ...]:
        if self.tyre_seasons is not None:
            return tuple(self.tyre_seasons)
        if country == "CA" and (province or "").upper() == "QC":
            return QUEBEC_TYRE_SEASONS
        return ()
