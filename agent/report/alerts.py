"""Live staffing alerts: the `alerts:` config section and the rule. Pure, no I/O.

Every `check_minutes`, each department's missed calls over the last
`window_minutes` are compared with the same window (same weekday, same local
time) of each of the last `baseline_weeks` weeks, with the robust score of
`score`: median of those counts, spread = max(1.4826 x MAD, 1).

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
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from agent.config.alerts import AlertsConfig
from agent.report.score import robust_score


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
