"""A case's due time counts its department's opening hours only: nights, closed
days, weekends and public holidays do not use up the SLA."""

from __future__ import annotations

from datetime import datetime

import pytest

from agent.cases.keeper import CaseKeeper
from agent.cases.sla import sla_due
from agent.config.settings import Settings
from agent.decide.pipeline import Pipeline
from agent.store import Store
from tests.agent.conftest import TZ, local

# (department, missed at, due at), site time. 2026-11-23 is a Monday; 2026-12-24 is a
# site holiday and 2026-12-25 a public one. Service: weekdays 07:30-12:00 and
# 13:00-17:30, Saturday 08:00-12:00, 30 min. Sales: Monday to Thursday 09:00-21:00,
# 10 min. Parts: weekdays 08:00-17:00, 60 min.
CASES = [
    ("service", "2026-11-23 10:00", "2026-11-23 10:30"),  # open all along
    ("service", "2026-11-23 11:50", "2026-11-23 13:20"),  # across the lunch break
    ("service", "2026-11-23 06:00", "2026-11-23 08:00"),  # before opening
    ("service", "2026-11-27 21:00", "2026-11-28 08:30"),  # Friday night: Saturday morning
    ("sales", "2026-11-27 21:00", "2026-11-30 09:10"),  # Friday night: Monday opening
    ("sales", "2026-11-26 20:55", "2026-11-30 09:05"),  # 5 min Thursday, 5 min Monday
    ("parts", "2026-11-27 16:30", "2026-11-30 08:30"),  # over the weekend
    ("service", "2026-12-23 17:20", "2026-12-26 08:20"),  # over two holidays
    ("parts", "2026-12-23 16:30", "2026-12-28 08:30"),  # holidays, then the weekend
]


@pytest.mark.parametrize(("department", "missed", "due"), CASES)
def test_due_time_counts_opening_hours_only(
    settings: Settings, store: Store, department: str, missed: str, due: str
) -> None:
    """Each row: the due time of a case missed then in that department."""
    pipeline = Pipeline(settings, store, lambda: local(missed))
    keeper = CaseKeeper(settings, store, pipeline.holiday_dates)
    assert keeper.due_at(department, local(missed)) == local(due)


def test_always_open_department_is_due_after_the_plain_minutes() -> None:
    """No hours at all is "always open": the SLA is plain minutes."""
    start = datetime(2026, 11, 28, 23, 55, tzinfo=TZ)
    due = sla_due(None, start, 10, lambda year: set())
    assert due == datetime(2026, 11, 29, 0, 5, tzinfo=TZ)


def test_never_open_department_has_no_due_time() -> None:
    """A department with hours but every day closed is never due (no escalation)."""
    weekly: dict[int, list[tuple[object, object]]] = {day: [] for day in range(7)}
    start = datetime(2026, 11, 28, 10, 0, tzinfo=TZ)
    assert sla_due(weekly, start, 10, lambda year: set()) is None  # type: ignore[arg-type]
