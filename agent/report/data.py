"""What a report holds: counts per department and for the site. Plain data, no I/O.

Definitions (the report states them too):
- inbound calls: every inbound call whose first ring is in the period;
- missed calls: the unanswered outcomes (missed, voicemail, abandoned_ivr,
  abandoned_queue, busy): `Outcome.unanswered`;
- missed-call rate: missed / (answered + missed): short abandons (likely misdials)
  and calls of unknown outcome (events lost) are left out of both sides; the page's
  rate is the open hours' (`open_missed_rate`): a call while closed is no staffing
  miss. The weekday x hour cells and the days count open-hours calls only;
- after-hours share: inbound calls that came while the department was closed;
- recovered: missed calls whose caller was reached afterwards (called back, called
  again and was answered, or replied to the text); the time to recover is to the
  minute, from the end of the missed call.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from agent.model import UNANSWERED, Outcome

UNANSWERED_OUTCOMES = tuple(o.value for o in Outcome if o in UNANSWERED)
OUTCOMES = tuple(o.value for o in Outcome)
SITE = "site"


@dataclass(slots=True)
class Totals:
    outcomes: Counter[str] = field(default_factory=Counter)
    after_hours: int = 0
    after_hours_missed: int = 0
    after_hours_answered: int = 0
    recovered: int = 0
    recovery_minutes: Counter[int] = field(default_factory=Counter)
    texts_sent: int = 0
    replies: int = 0

    @property
    def inbound(self) -> int:
        return sum(self.outcomes.values())

    @property
    def answered(self) -> int:
        return self.outcomes[Outcome.ANSWERED.value]

    @property
    def missed(self) -> int:
        return sum(self.outcomes[o] for o in UNANSWERED_OUTCOMES)

    @property
    def missed_rate(self) -> float | None:
        base = self.answered + self.missed
        return self.missed / base if base else None

    @property
    def open_missed(self) -> int:
        """Missed calls while the department was open."""
        return self.missed - self.after_hours_missed

    @property
    def open_missed_rate(self) -> float | None:
        """The missed-call rate of the open hours: what staffing can change."""
        base = self.answered - self.after_hours_answered + self.open_missed
        return self.open_missed / base if base else None

    @property
    def after_hours_share(self) -> float | None:
        return self.after_hours / self.inbound if self.inbound else None

    @property
    def recovered_rate(self) -> float | None:
        return self.recovered / self.missed if self.missed else None

    @property
    def median_recovery_minutes(self) -> float | None:
        """The median of the minute histogram (the mean of the two middle values)."""
        total = sum(self.recovery_minutes.values())
        if not total:
            return None
        middle = ((total - 1) // 2, total // 2)
        found: list[int] = []
        seen = 0
        for minutes in sorted(self.recovery_minutes):
            count = self.recovery_minutes[minutes]
            found.extend(minutes for i in middle if seen <= i < seen + count)
            seen += count
        return sum(found) / 2.0


@dataclass(slots=True)
class Cell:
    """One bucket: calls counted for the rate (answered + missed) and missed calls."""

    calls: int = 0
    missed: int = 0

    @property
    def rate(self) -> float | None:
        return self.missed / self.calls if self.calls else None


@dataclass(slots=True)
class Branch:
    """An IVR branch (keys pressed): calls that went through it, hung up in it, lost
    after it (queue, ringing, voicemail...)."""

    path: str
    reached: int = 0
    hung_up: int = 0
    lost_after: int = 0

    @property
    def hang_up_rate(self) -> float | None:
        return self.hung_up / self.reached if self.reached else None


@dataclass(slots=True)
class Week:
    start: date
    missed: int
    last_year: int | None
    partial: bool


@dataclass(slots=True)
class Scope:
    """A department's (or the site's) numbers over the period."""

    name: str
    totals: Totals = field(default_factory=Totals)
    heat: list[list[Cell]] = field(
        default_factory=lambda: [[Cell() for _ in range(24)] for _ in range(7)]
    )
    daily: dict[date, Cell] = field(default_factory=dict)
    before: dict[date, Cell] = field(default_factory=dict)  # the year before the period
    paths: Counter[tuple[str, str]] = field(default_factory=Counter)  # (path, outcome)

    def peak(self) -> tuple[int, int, Cell] | None:
        """(weekday, hour, cell) of the most missed calls (earliest on a tie)."""
        best: tuple[int, int, Cell] | None = None
        for wd in range(7):
            for hour in range(24):
                cell = self.heat[wd][hour]
                if cell.missed and (best is None or cell.missed > best[2].missed):
                    best = (wd, hour, cell)
        return best
