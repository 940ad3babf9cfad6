"""Live staffing alerts: the `alerts:` config section and the rule. Pure, no I/O.

Every `check_minutes`, each department's missed calls over the last
`window_minutes` are compared with the same window (same weekday, same local
time) of each of the last `baseline_weeks` weeks, with the robust score of
`report_score`: median of those counts, spread = max(1.4826 x MAD, 1).

A department alerts when all hold:
- the store has at least `min_history_weeks` weeks of calls (a new site has no
  usual level yet);
- score >= `threshold` and missed calls >= `min_missed`;
- its last staffing alert is older than `period_minutes` (at most one per
  department per period, across restarts: the last one is in the store).

The alert goes to every manager of that department: a text through the outbox and
the sender chain (`phone`) and/or a JSON POST (`webhook_url`). A manager with
`digest: true` also gets yesterday's numbers once a day at `digest_at` (site time).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Annotated, Self
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from agent.numbers import normalize
from agent.report_score import THRESHOLD, robust_score


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _e164(value: str) -> str:
    number, _ = normalize(value, "CA")
    if number is None or not value.strip().startswith("+"):
        raise ValueError(f"{value!r} is not an E.164 phone number (expected e.g. +15145550150)")
    return number


def _url(value: str) -> str:
    if not value.startswith(("https://", "http://")):
        raise ValueError(f"{value!r} is not an http(s) URL (expected https://...)")
    return value


def _clock_time(value: str) -> str:
    try:
        time.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a time of day (expected HH:MM)") from None
    return value


class ManagerConfig(_Section):
    name: str = Field(min_length=1)
    departments: list[str] = Field(default_factory=list)  # empty: every department
    phone: Annotated[str, AfterValidator(_e164)] | None = None
    webhook_url: Annotated[str, AfterValidator(_url)] | None = None
    digest: bool = False

    @model_validator(mode="after")
    def _reachable(self) -> Self:
        if self.phone is None and self.webhook_url is None:
            raise ValueError(f"manager {self.name!r} has neither phone nor webhook_url")
        return self

    def covers(self, department: str) -> bool:
        return not self.departments or department in self.departments


class AlertsConfig(_Section):
    enabled: bool = True
    check_minutes: float = Field(default=5.0, ge=1)
    window_minutes: int = Field(default=60, ge=15, le=240)
    baseline_weeks: int = Field(default=8, ge=2, le=52)
    min_history_weeks: int = Field(default=4, ge=1)
    threshold: float = Field(default=THRESHOLD, gt=0)
    min_missed: int = Field(default=5, ge=1)
    period_minutes: float = Field(default=120.0, ge=5)
    digest_at: Annotated[str, AfterValidator(_clock_time)] = "07:30"
    managers: list[ManagerConfig] = Field(default_factory=list)

    def check_departments(self, known: set[str]) -> None:
        for manager in self.managers:
            for name in manager.departments:
                if name not in known:
                    raise ValueError(
                        f"[alerts.managers] {manager.name!r} lists unknown department {name!r} "
                        f"(expected one of: {', '.join(sorted(known))})"
                    )


@dataclass(frozen=True, slots=True)
class Level:
    """One department's last check."""

    department: str
    missed: int
    usual: float
    score: float
    samples: int
    alerting: bool


def same_windows(
    now: datetime, tz: ZoneInfo, minutes: int, weeks: int
) -> list[tuple[datetime, datetime]]:
    """The window ending now, then the same local wall-clock window 1..weeks weeks
    before (DST-correct: a week back is seven calendar days in the site's zone)."""
    local = now.astimezone(tz)
    out = []
    for k in range(weeks + 1):
        end = (local.replace(tzinfo=None) - timedelta(weeks=k)).replace(tzinfo=tz)
        out.append((end - timedelta(minutes=minutes), end))
    return out


def evaluate(department: str, missed: int, history: list[int], config: AlertsConfig) -> Level:
    score = robust_score(missed, history)
    alerting = score.value >= config.threshold and missed >= config.min_missed
    return Level(department, missed, score.usual, round(score.value, 2), len(history), alerting)


def staffing_text(site: str, label: str, level: Level, minutes: int) -> str:
    return (
        f"{site}: {label} missed {level.missed} calls in the last {minutes} min "
        f"(usual at this hour: {level.usual:g}). More hands on the phones?"
    )
