"""The robust score behind "worst days" and the live staffing alert. Pure.

A count is compared with its usual level, the **median** of comparable counts (the
same weekday; for the alert, the same weekday and hour of recent weeks), and scored
in units of their spread, the **MAD** (median absolute deviation from the median)
scaled by 1.4826 so that it matches a standard deviation on normal data:

    score = (count - median) / max(1.4826 x MAD, 1)

Median and MAD ignore the outliers themselves (a storm Monday does not raise the
usual Monday), unlike a mean and standard deviation. The floor of one call keeps
a quiet weekday (MAD 0) from turning a few calls into a huge score. A score of 3.5
or more is "far above usual" (the cut-off Iglewicz and Hoaglin recommend).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from agent.config.alerts import THRESHOLD

MAD_SCALE = 1.4826
MIN_SAMPLES = 4
MIN_EXCESS = 5

SCORE_EXPLAINED = (
    "Worst days: each day's missed calls are compared with the usual level for that "
    "weekday, the median over the period, and scored in units of the median absolute "
    "deviation (MAD x 1.4826, at least 1 call): score = (missed - median) / spread. "
    f"Days scoring {THRESHOLD} or more and at least {MIN_EXCESS} missed calls above the "
    "median are listed. Median and MAD are not pulled up by the bad days themselves."
)


def median(values: Sequence[float]) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return float(ordered[mid])
    return (ordered[mid - 1] + ordered[mid]) / 2.0


def mad(values: Sequence[float], center: float | None = None) -> float:
    mid = median(values) if center is None else center
    return median([abs(v - mid) for v in values])


@dataclass(frozen=True, slots=True)
class Score:
    value: float
    usual: float
    spread: float
    samples: int


def robust_score(count: float, history: Sequence[float]) -> Score:
    usual = median(history)
    spread = max(MAD_SCALE * mad(history, usual), 1.0)
    return Score((count - usual) / spread, usual, spread, len(history))


@dataclass(frozen=True, slots=True)
class WorstDay:
    day: date
    missed: int
    usual: float
    score: float


def worst_days(
    daily_missed: Mapping[date, int],
    threshold: float = THRESHOLD,
    min_excess: float = MIN_EXCESS,
    limit: int = 10,
) -> list[WorstDay]:
    """Days far above the usual level of their weekday, worst first."""
    by_weekday: dict[int, list[int]] = {}
    for day, missed in daily_missed.items():
        by_weekday.setdefault(day.weekday(), []).append(missed)
    found = []
    for day, missed in daily_missed.items():
        history = by_weekday[day.weekday()]
        if len(history) < MIN_SAMPLES:
            continue
        score = robust_score(missed, history)
        if score.value >= threshold and missed - score.usual >= min_excess:
            found.append(WorstDay(day, missed, score.usual, round(score.value, 2)))
    found.sort(key=lambda w: (-w.score, w.day))
    return found[:limit]


@dataclass(frozen=True, slots=True)
class Shift:
    weeks: int
    similarity: float


def season_shift(
    this_year: Sequence[int | None], last_year: Sequence[int | None], max_lag: int = 8
) -> Shift | None:
    """How many weeks later (+) or earlier (-) this year's busy weeks came than last
    year's: the lag that best lines up the weeks standing above each year's median
    week by more than 25 % (cosine similarity of those excesses). None when either
    year has no busy weeks or they do not line up (similarity below 0.3)."""
    pairs = [(a, b) for a, b in zip(this_year, last_year, strict=True)]
    if sum(1 for a, b in pairs if a is not None and b is not None) < 2 * max_lag:
        return None
    this = _excess([a for a, _ in pairs])
    last = _excess([b for _, b in pairs])
    if not any(this) or not any(last):
        return None
    best: Shift | None = None
    for lag in range(-max_lag, max_lag + 1):
        dot = norm_a = norm_b = 0.0
        for i, a in enumerate(this):
            j = i - lag
            b = last[j] if 0 <= j < len(last) else 0.0
            dot, norm_a, norm_b = dot + a * b, norm_a + a * a, norm_b + b * b
        if norm_a and norm_b:
            similarity = dot / math.sqrt(norm_a * norm_b)
            if best is None or similarity > best.similarity + 1e-9:
                best = Shift(lag, round(similarity, 3))
    return best if best is not None and best.similarity >= 0.3 else None


def _excess(series: Sequence[int | None]) -> list[float]:
    known = [v for v in series if v is not None]
    level = 1.25 * median(known)
    return [max(0.0, v - level) if v is not None else 0.0 for v in series]
